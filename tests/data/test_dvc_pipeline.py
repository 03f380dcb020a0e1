"""`dvc repro prepare@digits` works offline in a fresh repository copy (slow: runs DVC)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dvc_repro_prepare_digits_offline_then_skips(tmp_path):
    if shutil.which("dvc") is None or shutil.which("git") is None:
        pytest.skip("dvc or git not on PATH")
    work = tmp_path / "clone"
    work.mkdir()
    for name in ("dvc.yaml", "params.yaml", "data.dvc", ".dvcignore"):
        shutil.copy(REPO / name, work / name)
    for name in (".dvc", "splits", "src/ganaudit/data"):
        shutil.copytree(REPO / name, work / name, ignore=shutil.ignore_patterns("tmp", "cache",
                                                                               "__pycache__"))
    env = dict(os.environ, DVC_NO_ANALYTICS="1", GANAUDIT_ROOT=str(work))
    run = lambda *cmd: subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)  # noqa: E731
    assert run("git", "init", "-q").returncode == 0
    first = run("dvc", "repro", "prepare@digits")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Running stage 'prepare@digits'" in first.stdout
    assert (work / "data" / "prepared" / "digits" / "manifest.json").read_bytes() == \
        (REPO / "splits" / "digits.json").read_bytes()
    second = run("dvc", "repro", "prepare@digits")
    assert second.returncode == 0 and "didn't change, skipping" in second.stdout
    verify = run("python", "-m", "ganaudit.data", "verify", "digits")
    assert verify.returncode == 0, verify.stderr
