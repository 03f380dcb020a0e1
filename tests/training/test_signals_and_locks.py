"""SIGTERM / SIGINT end a training run as ``interrupted`` (result record, exit 143 / 130, a rerun resumes
bit for bit), and one training at a time holds a run directory (a second is refused; a SIGKILLed
holder does not block). Each test runs ``python -m ganaudit.train`` in subprocesses on a prepared digits
store, signalling only the processes it started, once their run directory holds a given checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from ganaudit.data.prepare import prepare
from tests.training.conftest import tiny_overrides

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]
D_STEPS = 60


@pytest.fixture(scope="module")
def digits_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prepared")
    prepare("digits", None, root / "digits", splits_dir=root / "splits", shard_size=128, progress=False)
    return root


def _cmd(root: Path, data: Path, *extra: str) -> list[str]:
    overrides = tiny_overrides(root, f"paths.data={data}", *extra, d_steps=D_STEPS)
    return [sys.executable, "-m", "ganaudit.train", *overrides]


def _start(root: Path, data: Path) -> subprocess.Popen:
    return subprocess.Popen(_cmd(root, data), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(root: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(root, data, *extra), cwd=REPO, capture_output=True, text=True, timeout=300)


def _wait_for_checkpoint(root: Path, proc: subprocess.Popen, step: int) -> Path:
    """The run directory, once ``dstep-<step>.ckpt`` exists in it (fails if the run ended first)."""
    deadline = time.time() + 240
    while time.time() < deadline:
        found = list((root / "runs").glob(f"*/checkpoints/dstep-{step:07d}.ckpt"))
        if found:
            return found[0].parent.parent
        assert proc.poll() is None, "the run ended before it could be signalled: " + proc.stderr.read()[-2000:]
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def _weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]


def _metric_steps(run_dir: Path) -> pd.Series:
    rows = pd.read_csv(run_dir / "logs" / "version_0" / "metrics.csv")
    return rows.loc[rows["loss/d"].notna(), "step"] if "loss/d" in rows else rows["step"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, digits_data) -> Path:
    root = tmp_path_factory.mktemp("whole")
    proc = _run(root, digits_data)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next((root / "runs").iterdir())


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_run_interrupted_and_a_rerun_resumes_bit_for_bit(tmp_path, digits_data, uninterrupted,
                                                                           sig, code):
    proc = _start(tmp_path, digits_data)
    rdir = _wait_for_checkpoint(tmp_path, proc, 3)
    os.kill(proc.pid, sig)  # the training process this test started
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-2000:]
    name = signal.Signals(sig).name
    assert err.count("\n") == 1 and err.startswith(f"interrupted: run '{rdir}' stopped by {name} at D step ")
    assert "rerun the same command to resume" in err and "Traceback" not in err and out == ""
    result = json.loads((rdir / "result.json").read_text())
    assert result["status"] == "interrupted" and 3 <= result["d_steps"] < D_STEPS
    assert result["checkpoint_step"] == result["d_steps"]  # a checkpoint every D step: the step reached is kept
    assert torch.load(rdir / "checkpoints" / "last.ckpt", weights_only=True)["ganaudit"]["d_step"] == result["d_steps"]

    again = _run(tmp_path, digits_data)
    assert again.returncode == 0, again.stderr[-2000:]
    final = json.loads((rdir / "result.json").read_text())
    assert final["status"] == "ok" and final["d_steps"] == D_STEPS and final["resumed_from"].endswith("last.ckpt")
    whole, resumed = _weights(uninterrupted), _weights(rdir)
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)
    steps = _metric_steps(rdir)
    assert steps.is_unique and steps.tolist() == _metric_steps(uninterrupted).tolist()


def test_a_second_training_of_the_same_run_is_refused_and_a_killed_holder_does_not_block(tmp_path, digits_data,
                                                                                         uninterrupted):
    first = _start(tmp_path, digits_data)
    rdir = _wait_for_checkpoint(tmp_path, first, 2)
    os.kill(first.pid, signal.SIGSTOP)  # held mid-run (else it may finish before the second has started)
    before = {p: p.read_bytes() for p in rdir.rglob("*") if p.is_file()}
    # the same run (progress_bar is not hashed), so the same directory; its .hydra/overrides.yaml would differ
    second = _run(tmp_path, digits_data, "trainer.progress_bar=true")
    assert {p: p.read_bytes() for p in rdir.rglob("*") if p.is_file()} == before  # the refused run wrote nothing
    assert second.returncode == 1 and second.stdout == "" and second.stderr.count("\n") == 1, second.stderr
    err = second.stderr
    assert err.startswith(f"error: run directory '{rdir}' is in use by another process (pid {first.pid} on ")
    assert "command: python" in err and "ganaudit.train" in err and "wait until that process ends" in err
    assert first.poll() is None  # the refusal did not disturb the holder
    os.kill(first.pid, signal.SIGKILL)  # the holder this test started dies without releasing anything itself
    first.communicate(timeout=60)
    third = _run(tmp_path, digits_data)
    assert third.returncode == 0, third.stderr[-2000:]
    assert json.loads((rdir / "result.json").read_text())["status"] == "ok"
    steps = _metric_steps(rdir)
    assert steps.is_unique and steps.tolist() == list(range(1, D_STEPS + 1))  # no row written twice
    whole, resumed = _weights(uninterrupted), _weights(rdir)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
