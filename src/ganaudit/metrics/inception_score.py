"""Inception Score (spec §6.3): one score over all samples, ``exp(E_x KL(p(y|x) || p(y)))``, float64.

``p(y|x) = softmax(logits)``; ``p(y)`` = mean of p(y|x) over the samples. No 10-split averaging.
Streaming form used by :class:`ganaudit.metrics.streaming.InceptionScoreMetric`:
``E_x KL = E_x[sum_y p log p] - sum_y p(y) log p(y)``, so two float64 sums suffice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganaudit.metrics._arrays import as_float64


def log_softmax64(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of ``logits`` [N, K] in float64."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def is_sums(logits: Any) -> tuple[int, np.ndarray, float]:
    """(n, sum_x p(y|x) [K], sum_x sum_y p log p) of ``logits`` [n, K]; the streaming state."""
    logp = log_softmax64(as_float64(logits, "logits", 2))
    p = np.exp(logp)
    return logp.shape[0], p.sum(axis=0), float((p * logp).sum())


def is_from_sums(n: int, p_sum: np.ndarray, neg_entropy_sum: float) -> float:
    """Inception score from the streaming sums of :func:`is_sums` (summed over batches)."""
    q = p_sum / n
    nz = q > 0
    cross = float((q[nz] * np.log(q[nz])).sum())  # sum_y p(y) log p(y)
    return float(np.exp(neg_entropy_sum / n - cross))


def inception_score(logits: Any) -> float:
    """IS of classifier ``logits`` [N, K] (N >= 1). One-hot predictions over k equally used classes give k."""
    return is_from_sums(*is_sums(logits))
