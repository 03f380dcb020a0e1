"""The ``ganaudit`` console script: subcommands dispatch to the modules' mains, unchanged."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import tomllib

from ganaudit.cli import describe
from ganaudit.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["train", "evaluate", "describe", "data", "study", "audit", "weights", "refstats", "floor", "baselines",
         "determinism", "digits-cnn"]


def test_declared_in_pyproject_and_every_subcommand_has_a_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"ganaudit": "ganaudit.cli.main:main"}
    assert list(cli.SUBCOMMANDS) == NAMES
    for sub in [*cli.SUBCOMMANDS.values(), cli.AUDIT_VERDICT]:
        assert callable(importlib.import_module(sub.module).main), sub.module


def test_help_lists_subcommands_and_unknown_ones_exit_2(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"\n  {name} " in out for name in NAMES)
    assert cli.main([]) == 2
    assert cli.main(["trian", "seed=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown subcommand 'trian'" in err and "train" in err and err.count("\n") == 1


def test_describe_through_the_script_equals_the_module(capsys):
    args = ["arch=sndcgan", "arch.width=0.125", "dataset=digits"]
    assert cli.main(["describe", *args]) == 0
    via_cli = json.loads(capsys.readouterr().out)
    assert describe.main(args) == 0
    assert via_cli == json.loads(capsys.readouterr().out)
    assert cli.main(["describe", "arch=sndcgan", "norm=batch"]) == 2  # the module's exit code


def test_hydra_subcommand_reads_its_overrides_and_restores_argv(capsys):
    before = list(sys.argv)
    assert cli.main(["train", "--cfg", "job", "seed=5", "loss=ls"]) == 0
    out = capsys.readouterr().out
    assert "seed: 5" in out and "name: ls" in out
    assert sys.argv == before


def test_bad_conf_directory_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GANAUDIT_CONF", str(tmp_path))
    assert cli.main(["train", "--cfg", "job"]) == 2
    err = capsys.readouterr().err
    assert "no config.yaml in conf directory" in err and str(tmp_path) in err and err.count("\n") == 1


def test_audit_verdict_is_routed(capsys, tmp_path):
    assert cli.main(["audit", "verdict", "--claim-fid", "20", str(tmp_path / "none.npz")]) == 2
    assert "none.npz" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # the study audit keeps its own options
        cli.main(["audit", "--nonsense"])
    assert exc.value.code == 2
