"""torchmetrics ``Metric`` wrappers for streaming evaluation (float64 sums; extractor injected).

Each metric's ``update`` takes either images [B, 3, H, W] in [0, 255] (when an ``extractor`` is
given: a callable returning ``(features [B, d], logits [B, K])``) or the features/logits themselves.
States are float64 sums reduced with ``sum`` (or ``cat`` for KID's features), so the result does not
depend on the batch size beyond float64 round-off, and distributed reduction is exact.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torchmetrics import Metric

from ganaudit.metrics.fid import fid_from_stats, stats_from_sums
from ganaudit.metrics.inception_score import is_from_sums, log_softmax64
from ganaudit.metrics.kid import MAX_BLOCK_SIZE, kid
from ganaudit.metrics.ms_ssim import ms_ssim_pairs

Extractor = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _features(x: torch.Tensor, extractor: Extractor | None, index: int) -> torch.Tensor:
    return (extractor(x)[index] if extractor is not None else x).detach().double()


class FIDMetric(Metric):
    """Streaming FID: ``update(x, real=bool)``; ``compute()`` -> 0-d float64 tensor.

    ``reference=(mu [d], sigma [d, d])`` replaces the real sums (cached reference statistics).
    """

    full_state_update = False

    def __init__(self, num_features: int, extractor: Extractor | None = None,
                 reference: tuple[np.ndarray, np.ndarray] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.extractor, self.reference = extractor, reference
        for side in ("real", "fake"):
            self.add_state(f"{side}_sum", torch.zeros(num_features, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{side}_outer", torch.zeros(num_features, num_features, dtype=torch.float64),
                           dist_reduce_fx="sum")
            self.add_state(f"{side}_n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, x: torch.Tensor, real: bool) -> None:
        f = _features(x, self.extractor, 0).to(self.fake_sum.device)  # [B, d] float64
        side = "real" if real else "fake"
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + f.sum(0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + f.T @ f)
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + f.shape[0])

    def side_stats(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(mu, sigma) float64 of the accumulated ``side`` ("real" or "fake")."""
        n = int(getattr(self, f"{side}_n").item())
        total, outer = getattr(self, f"{side}_sum"), getattr(self, f"{side}_outer")
        return stats_from_sums(n, total.cpu().numpy(), outer.cpu().numpy())

    def compute(self) -> torch.Tensor:
        mu_r, sigma_r = self.reference if self.reference is not None else self.side_stats("real")
        mu_f, sigma_f = self.side_stats("fake")
        return torch.tensor(fid_from_stats(mu_r, sigma_r, mu_f, sigma_f), dtype=torch.float64)


class KIDMetric(Metric):
    """Streaming KID (keeps the features as given, ``cat`` states; maths in float64); ``reference`` = real
    features [N, d]."""

    full_state_update = False

    def __init__(self, extractor: Extractor | None = None, reference: np.ndarray | None = None,
                 max_block_size: int = MAX_BLOCK_SIZE, **kwargs) -> None:
        super().__init__(**kwargs)
        self.extractor, self.reference, self.max_block_size = extractor, reference, max_block_size
        self.add_state("real_feats", [], dist_reduce_fx="cat")
        self.add_state("fake_feats", [], dist_reduce_fx="cat")

    def update(self, x: torch.Tensor, real: bool) -> None:
        f = (self.extractor(x)[0] if self.extractor is not None else x).detach().cpu()
        (self.real_feats if real else self.fake_feats).append(f)  # kept in its own dtype (float32 from extractors)

    def compute(self) -> torch.Tensor:
        real = self.reference if self.reference is not None else torch.cat(self.real_feats).cpu().numpy()
        fake = torch.cat(self.fake_feats).cpu().numpy()
        return torch.tensor(kid(real, fake, self.max_block_size), dtype=torch.float64)


class InceptionScoreMetric(Metric):
    """Streaming IS over all samples: ``update(images or logits [B, K])``."""

    full_state_update = False

    def __init__(self, num_classes: int, extractor: Extractor | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.extractor = extractor
        self.add_state("p_sum", torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("neg_entropy_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, x: torch.Tensor) -> None:
        logp = torch.from_numpy(log_softmax64(_features(x, self.extractor, 1).cpu().numpy()))
        p = logp.exp()
        self.p_sum = self.p_sum + p.sum(0).to(self.p_sum.device)
        self.neg_entropy_sum = self.neg_entropy_sum + (p * logp).sum().to(self.n.device)
        self.n = self.n + p.shape[0]

    def compute(self) -> torch.Tensor:
        value = is_from_sums(int(self.n.item()), self.p_sum.cpu().numpy(), float(self.neg_entropy_sum.item()))
        return torch.tensor(value, dtype=torch.float64)


class MSSSIMMetric(Metric):
    """Streaming mean MS-SSIM over aligned pairs ``update(a, b)`` of images [B, 3, H, W] in [0, 255]."""

    full_state_update = False

    def __init__(self, shrink_sigma: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shrink_sigma = shrink_sigma
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, a: torch.Tensor, b: torch.Tensor) -> None:
        vals = ms_ssim_pairs(a.detach().double(), b.detach().double(), self.shrink_sigma)
        self.total = self.total + vals.sum().to(self.total.device)
        self.n = self.n + vals.numel()

    def compute(self) -> torch.Tensor:
        return self.total / self.n
