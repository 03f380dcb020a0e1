"""A tiny synthetic world for ``audit explain`` tests: 8x8 images, a BatchNorm generator, a counting extractor."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganaudit.audit.explain import Setup, Source
from ganaudit.metrics.protocols import Protocol

N = 200
TINY = Protocol(name="tiny", extractor="tiny", real_split="test", n_real={"tiny": N}, n_fake={"tiny": N},
                extract_batch=50, gen_batch=64, description="test-only protocol")


class View:
    """A split: uint8 [n, 8, 8, 3] images, brighter for the train split."""

    def __init__(self, split: str, n: int) -> None:
        rng = np.random.default_rng(0 if split == "test" else 1)
        base = rng.uniform(60, 190, size=(n, 1, 1, 3)) + rng.normal(0, 25, size=(n, 8, 8, 3))
        shift = 60.0 if split == "train" else 0.0
        self.images = np.clip(base + shift, 0, 255).round().astype(np.uint8)
        self.manifest_digest = split

    def __len__(self) -> int:
        return len(self.images)

    def read_batch(self, lo: int, hi: int) -> np.ndarray:
        return self.images[lo:hi]


class Extractor(nn.Module):
    """features [B, 8]: a fixed projection of 4x4-pooled images; counts its calls and images."""

    name, weights_sha256, num_features, num_logits = "tiny", "tiny-extractor", 8, 2

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.proj = torch.randn(48, 8, generator=g) / 48 ** 0.5
        self.calls = self.images = 0

    def forward(self, x: torch.Tensor):
        self.calls += 1
        self.images += len(x)
        pooled = nn.functional.avg_pool2d(x.float() / 255.0, 2).flatten(1)  # [B, 3*4*4]
        feats = pooled @ self.proj * 10.0  # [B, 8]
        return feats, feats[:, :2]


class Generator(nn.Module):
    """z [B, 4] -> images [B, 3, 8, 8] in [0, 1]; BatchNorm so train mode differs from eval."""

    z_dim = 4

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 192)
        self.bn = nn.BatchNorm1d(192)
        with torch.no_grad():
            self.fc.bias.add_(0.8)
            self.bn.running_mean.fill_(0.4)
            self.bn.running_var.fill_(0.5)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bn(self.fc(z))).view(-1, 3, 8, 8)


def setup(streams: int = 5, max_changes: int = 2, extractor: Extractor | None = None) -> Setup:
    views = {"test": View("test", N), "train": View("train", 3 * N)}
    return Setup(proto=TINY, dataset="tiny", extractor=extractor or Extractor(), open_split=views.__getitem__,
                 streams=streams, n_boot=50, max_changes=max_changes, sizes=())


def sources(n: int = 1, final: bool = False) -> list[Source]:
    out = []
    for i in range(n):
        g = Generator()
        with torch.no_grad():
            g.fc.weight.mul_(1 + 0.02 * i)
        gens = {"best": g}
        if final:
            f = Generator()
            with torch.no_grad():
                f.fc.bias.add_(0.35)
            gens["final"] = f
        out.append(Source(label=f"g{i}", kind="generator", generators=gens, z_dim=4))
    return out


SPLIT_SIZES = {"test": N, "train": 3 * N}
