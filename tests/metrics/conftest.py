"""Shared fixtures of the evaluation tests: an in-memory split view, tiny generators, weights dirs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganaudit.metrics import digits_cnn


class FakeView:
    """In-memory stand-in of ``ganaudit.data.SplitView`` (CONTRACTS §2): uint8 [N, R, R, 3]."""

    def __init__(self, images: np.ndarray, manifest_digest: str = "f" * 64) -> None:
        self.images, self.manifest_digest, self.reads = images, manifest_digest, 0

    def __len__(self) -> int:
        return len(self.images)

    def read_batch(self, start: int, stop: int) -> np.ndarray:
        self.reads += 1
        return self.images[start:stop]


class TinyGenerator(nn.Module):
    """z [B, 8] -> images [B, 3, 32, 32] in [0, 1]; BN so that train/eval mode matters."""

    z_dim = 8

    def __init__(self, seed: int = 0, nan: bool = False) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.lin = nn.Linear(8, 3 * 8 * 8)
        self.bn = nn.BatchNorm1d(3 * 8 * 8)
        self.nan = nan

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.bn(self.lin(z))).view(-1, 3, 8, 8)
        x = x.repeat_interleave(4, 2).repeat_interleave(4, 3)  # [B, 3, 32, 32]
        return x * float("nan") if self.nan else x


def digit_like_images(n: int, seed: int) -> np.ndarray:
    """uint8 [n, 32, 32, 3] of rendered scikit-learn digits (a seeded draw)."""
    from sklearn.datasets import load_digits

    from ganaudit.data.digits import render_digits

    raw = load_digits().images
    idx = np.random.default_rng(seed).choice(len(raw), n, replace=False)
    return render_digits(raw[idx])


@pytest.fixture
def digits_weights(tmp_path, monkeypatch):
    """A weights dir holding a small (1-epoch) digits CNN with its sidecar; the repo pin lifted."""
    from sklearn.datasets import load_digits

    from ganaudit.data.digits import render_digits

    d = load_digits()
    net = digits_cnn.train_classifier(render_digits(d.images[:600]), d.target[:600], seed=0, epochs=1)
    weights = tmp_path / "artifacts" / "weights"
    digits_cnn.save_weights(net, weights / "digits_cnn.pt", {"test": True})
    monkeypatch.setattr(digits_cnn, "DIGITS_WEIGHTS",
                        digits_cnn.DIGITS_WEIGHTS.__class__(**{**digits_cnn.DIGITS_WEIGHTS.__dict__, "sha256": None}))
    return weights


@pytest.fixture
def digits_view(monkeypatch):
    """A 500-image digits-like test split patched in for ``ganaudit.data.open_split``."""
    view = FakeView(digit_like_images(500, seed=1))
    import ganaudit.data

    monkeypatch.setattr(ganaudit.data, "open_split", lambda name, split, data_dir: view)
    return view
