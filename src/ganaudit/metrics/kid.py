"""Kernel Inception Distance (spec §6.4; [PRE3] ``kid_score.py``, the TF-GAN block estimator).

Unbiased MMD^2 with the cubic polynomial kernel ``k(x, y) = (x.y / d + 1)^3`` computed on
contiguous blocks of at most ``max_block_size`` rows of each set, then averaged over blocks.
Block layout as TF-GAN: ``n_blocks = ceil(max(N, M) / max_block_size)``; each set is cut into
``n_blocks`` contiguous pieces whose sizes differ by at most one, the larger pieces last.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ganaudit.metrics._arrays import as_float64
from ganaudit.utils.errors import DataError

MAX_BLOCK_SIZE = 1024


def _block_bounds(n: int, n_blocks: int) -> np.ndarray:
    """Start/stop offsets [n_blocks + 1] of ``n`` rows cut into near-equal blocks, larger last."""
    base, extra = divmod(n, n_blocks)
    sizes = [base] * (n_blocks - extra) + [base + 1] * extra
    return np.cumsum([0] + sizes)


def _mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 between rows of ``a`` [m, d] and ``b`` [n, d], m, n >= 2, cubic kernel."""
    d = a.shape[1]
    m, n = a.shape[0], b.shape[0]
    k_aa = (a @ a.T / d + 1.0) ** 3
    k_bb = (b @ b.T / d + 1.0) ** 3
    k_ab = (a @ b.T / d + 1.0) ** 3
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def kid_blocks(feats_a: Any, feats_b: Any, max_block_size: int = MAX_BLOCK_SIZE) -> np.ndarray:
    """Per-block unbiased MMD^2 estimates [n_blocks] of features [N, d] and [M, d] (float64)."""
    a = as_float64(feats_a, "features_a", 2)
    b = as_float64(feats_b, "features_b", 2)
    if a.shape[1] != b.shape[1]:
        raise DataError(f"features disagree in dimension: {a.shape} vs {b.shape}; expected one d")
    if max_block_size < 2:
        raise DataError(f"max_block_size={max_block_size}; expected an integer >= 2")
    n_blocks = math.ceil(max(len(a), len(b)) / max_block_size)
    ia, ib = _block_bounds(len(a), n_blocks), _block_bounds(len(b), n_blocks)
    if min(np.diff(ia).min(), np.diff(ib).min()) < 2:
        raise DataError(
            f"KID: {len(a)} vs {len(b)} samples give a block with fewer than 2 rows; "
            "expected the two sets to have comparable sizes"
        )
    return np.array(
        [_mmd2_unbiased(a[ia[i] : ia[i + 1]], b[ib[i] : ib[i + 1]]) for i in range(n_blocks)]
    )


def kid(feats_a: Any, feats_b: Any, max_block_size: int = MAX_BLOCK_SIZE) -> float:
    """KID between features [N, d] and [M, d]: the mean of the block MMD^2 estimates."""
    return float(kid_blocks(feats_a, feats_b, max_block_size).mean())


def kid_with_std(feats_a: Any, feats_b: Any, max_block_size: int = MAX_BLOCK_SIZE) -> tuple[float, float]:
    """(mean, standard error) over blocks: sqrt(var_{n-1}(blocks) / n_blocks), as TF-GAN; nan for 1 block."""
    ests = kid_blocks(feats_a, feats_b, max_block_size)
    std = float(ests.std(ddof=1) / math.sqrt(len(ests))) if len(ests) > 1 else float("nan")
    return float(ests.mean()), std
