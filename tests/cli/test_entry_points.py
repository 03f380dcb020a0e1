"""One error policy for every entry point (docs/CONTRACTS.md, "Errors and exit codes").

Each subcommand runs both ways, ``ganaudit X ...`` (the console script of this environment) and
``python -m <module> ...`` (its shim), in a subprocess, with the same bad argument: an unknown option
value or a misspelt key for the Hydra-composed commands, an unknown flag for the argparse ones. Both
must print the same single line on stderr, starting ``error:``, nothing on stdout, no traceback, and
exit 2. argparse's usage block is not printed: its refusal is one line that names the command and
points to ``--help`` (ganaudit.cli.args).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganaudit.cli.main import AUDIT_EXPLAIN, AUDIT_VERDICT, SUBCOMMANDS

SCRIPT = Path(sys.executable).parent / "ganaudit"

# subcommand -> a bad argument list that it must refuse (2, one line)
BAD = {
    "train": ["loss=nope"],                     # unknown option value
    "study": ["study=demo", "launch.batch_sise=2"],  # misspelt key
    "evaluate": ["samples=x.npz", "protocl=auto"],   # misspelt key
    "describe": ["norm=nope"],
    "data": ["prepare", "digits", "--bogus"],   # unknown flag
    "audit": ["--results", "r", "--out", "o", "--bogus"],
    "audit verdict": ["--claim-fid", "1", "x.npz", "--bogus"],
    "audit explain": ["--claim-fid", "1", "x.npz", "--bogus"],
    "weights": ["fetch", "inception", "--bogus"],
    "refstats": ["digits", "--bogus"],
    "floor": ["digits", "--bogus"],
    "baselines": ["--bogus"],
    "determinism": ["env", "nope"],             # unknown choice
    "digits-cnn": ["train", "--bogus"],
}
COMMANDS = {**{name: sub.python_m for name, sub in SUBCOMMANDS.items()}, "audit verdict": AUDIT_VERDICT.python_m,
            "audit explain": AUDIT_EXPLAIN.python_m}


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("GANAUDIT_CONF", None)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_every_subcommand_has_a_bad_argument():
    assert set(BAD) == set(COMMANDS)


@pytest.mark.skipif(not SCRIPT.is_file(), reason=f"console script not installed beside {sys.executable}")
@pytest.mark.parametrize("name", sorted(BAD))
def test_both_spellings_refuse_alike(name, tmp_path):
    sub = name.split()
    module = COMMANDS[name]
    args = BAD[name]
    by_module = [sys.executable, "-m", module, *(sub if module == "ganaudit" else []), *args]
    by_script = _run([str(SCRIPT), *sub, *args], tmp_path)
    by_python_m = _run(by_module, tmp_path)
    for done in (by_script, by_python_m):
        assert done.returncode == 2, (done.args, done.stderr)
        assert done.stdout == "", (done.args, done.stdout)
        assert "Traceback" not in done.stderr, (done.args, done.stderr)
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, (done.args, done.stderr)
    assert by_script.stderr == by_python_m.stderr


@pytest.mark.skipif(not SCRIPT.is_file(), reason=f"console script not installed beside {sys.executable}")
def test_refusals_name_what_was_wrong(tmp_path):
    """The one line says which value or flag was refused (not only that something was)."""
    assert "nope" in _run([str(SCRIPT), "train", "loss=nope"], tmp_path).stderr
    assert "--bogus" in _run([str(SCRIPT), "baselines", "--bogus"], tmp_path).stderr
    assert "batch_sise" in _run([str(SCRIPT), "study", *BAD["study"]], tmp_path).stderr
