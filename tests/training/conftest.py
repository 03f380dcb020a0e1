"""Shared helpers for the training-core tests: tiny configs, tiny in-memory data, device choice.

``GANAUDIT_DEVICE=cuda pytest -m determinism`` runs the determinism checks on a GPU (see
test_determinism.py); the default is the CPU.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

DEVICE = os.environ.get("GANAUDIT_DEVICE", "cpu").replace("gpu", "cuda")
if DEVICE.startswith("cuda"):
    # must be set before CUDA initializes (deterministic cuBLAS)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

TINY_WIDTH = 1 / 16


def tiny_images(n: int = 24, resolution: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 [n, R, R, 3]: smooth random blobs (a real-format image array, not pure noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:resolution, 0:resolution] / resolution
    cx, cy, r = rng.uniform(0.2, 0.8, (3, n, 1, 1))
    color = rng.uniform(0, 255, (n, 1, 1, 3))
    mask = ((xx - cx) ** 2 + (yy - cy) ** 2 < (r / 3) ** 2)[..., None]
    return (mask * color + (1 - mask) * 20).astype(np.uint8)


def tiny_overrides(tmp_path, *extra: str, d_steps: int = 3) -> list[str]:
    """Overrides for a tiny CPU run under ``tmp_path`` (width 1/16, batch 4, eval off)."""
    return [
        f"paths.root={tmp_path}",
        f"arch.width={TINY_WIDTH}",
        "trainer.batch_size=4",
        f"trainer.d_steps={d_steps}",
        "trainer.checkpoint_every=1",
        "trainer.progress_bar=false",
        "trainer.log_every=1",
        f"trainer.accelerator={'gpu' if DEVICE.startswith('cuda') else 'cpu'}",
        "eval.enabled=false",
        *extra,
    ]



def train_tiny_run(root, d_steps: int = 2):
    """Train a tiny run (``tiny_overrides`` under ``root`` on ``tiny_images``) in this process; its run
    directory. Fails the test if the run did not finish ok."""
    # deferred: the training stack loads only for the tests that train
    from pathlib import Path

    from ganaudit.data.datamodule import GANDataModule
    from ganaudit.training.config import compose
    from ganaudit.training.train import train

    result = train(compose(tiny_overrides(root, d_steps=d_steps)),
                   datamodule=GANDataModule.from_arrays(tiny_images(), batch_size=4, seed=0))
    assert result["status"] == "ok", result.get("reason")
    return Path(result["run_dir"])

@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    """One intra-op thread while these tests run: with several processes on 2 shared cores, OpenMP
    spin-waiting made tiny convolutions up to 60x slower (measured). Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def device() -> torch.device:
    if DEVICE.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("GANAUDIT_DEVICE=cuda but no CUDA device is available")
    return torch.device(DEVICE)


# ------------------------------------------------------------------ determinism report (-m determinism)
DETERMINISM_REPORT: dict[str, str] = {}  # combination -> "bit-identical" | "equal within ..." | "no det. kernel: ..."


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print one line per checked combination (the user-facing output of ``pytest -m determinism``)."""
    if not DETERMINISM_REPORT:
        return
    tr = terminalreporter
    tr.section(f"ganaudit determinism report (device: {DEVICE})")
    counts: dict[str, int] = {}
    for combo, verdict in sorted(DETERMINISM_REPORT.items()):
        tr.write_line(f"{combo:45s} {verdict}")
        key = verdict.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    tr.write_line("summary: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
