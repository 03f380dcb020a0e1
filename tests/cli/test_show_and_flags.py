"""``ganaudit determinism show`` separates this process from the mode each command's runs use, and the
argparse commands spell the library's option hints as their own flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ganaudit.cli import determinism as show_cli
from ganaudit.cli.args import as_flags
from ganaudit.cli.main import SUBCOMMANDS
from ganaudit.utils.determinism import MODE_ENV, PORTABLE_ENV


def test_every_subcommand_has_a_mode_row():
    rows = {r["command"].split(" (")[0]: r for r in show_cli.command_modes()}
    assert set(rows) == {f"ganaudit {name}" for name in SUBCOMMANDS} | {"ganaudit audit verdict",
                                                                        "ganaudit audit explain"}
    for name in ("train", "study", "evaluate", "refstats", "floor", "audit", "audit verdict"):
        assert rows[f"ganaudit {name}"]["default"] == "portable"
    assert rows["ganaudit train"]["change"].startswith("add determinism=fast")
    assert rows["ganaudit refstats"]["change"] == "add --determinism fast"
    assert rows["ganaudit data"]["default"] == "unpinned"


def test_dvc_stages_modes_follow_their_commands(tmp_path):
    dvc = tmp_path / "dvc.yaml"
    dvc.write_text("stages:\n"
                   "  a: {cmd: python -m ganaudit.determinism exec -- python -m ganaudit.metrics.refstats x}\n"
                   "  b: {cmd: python -m ganaudit.study study=demo determinism=fast}\n"
                   "  c: {cmd: python -m ganaudit.data prepare digits}\n"
                   "  d: {foreach: [x], do: {cmd: python -m ganaudit.metrics.floor x --determinism fast}}\n")
    assert show_cli.dvc_stage_modes(dvc) == [{"stage": "a", "default": "portable"},
                                             {"stage": "b", "default": "fast"},
                                             {"stage": "c", "default": "unpinned"},
                                             {"stage": "d", "default": "fast"}]


@pytest.mark.slow  # two interpreter start-ups with torch
def test_show_in_a_plain_shell_does_not_read_as_fast():
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_ENV and k != MODE_ENV}
    out = subprocess.run([sys.executable, "-m", "ganaudit.determinism", "show"], capture_output=True,
                         text=True, env=env, timeout=120, check=True).stdout
    first = out.splitlines()[0]
    assert first.startswith("this process: mode unset") and "as determinism=fast" in first
    assert any(line.split()[:2] == ["ganaudit", "train"] and "portable" in line for line in out.splitlines())
    data = json.loads(subprocess.run([sys.executable, "-m", "ganaudit.determinism", "show", "--json"],
                                     capture_output=True, text=True, env=env, timeout=120, check=True).stdout)
    assert data["this_process"]["mode"].startswith("unset") and data["this_process"]["env"][MODE_ENV] is None
    assert {s["stage"]: s["default"] for s in data["dvc_stages"]}["study"] == "portable"


def test_hydra_hints_become_flags():
    msg = ("option 'dataset' is missing for samples 'x.npz'; expected dataset=<name>; pass "
           "config=<run>/config.yaml; or samples_range=0,255")
    out = as_flags(msg, {"dataset": "--dataset", "config": "--config", "samples_range": "--samples-range"})
    assert out == ("option '--dataset' is missing for samples 'x.npz'; expected --dataset <name>; pass "
                   "--config <run>/config.yaml; or --samples-range 0,255")
    out = as_flags(msg, {"dataset": "--dataset", "samples_range": None})
    assert "samples_range=0,255" in out and out.endswith("an option of ganaudit evaluate, which this command "
                                                         "does not have)")
    assert as_flags("data_dir=x; eval.dataset=y", {"dataset": "--dataset"}) == "data_dir=x; eval.dataset=y"
