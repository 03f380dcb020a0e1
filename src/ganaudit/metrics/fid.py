"""Fréchet distance between Gaussian fits of two feature sets (spec §6.1; TF-GAN float64 recipe).

    FID = ||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Tr( sqrt( S_a^1/2 S_b S_a^1/2 ) )

with S the (n-1)-normalized covariance. The trace term is the sum of square roots of the
eigenvalues of the symmetric PSD matrix ``S_a^1/2 S_b S_a^1/2``. Those eigenvalues equal the
eigenvalues of ``L^T S_b L`` for any factor ``S_a = L L^T`` (similar matrices), so when S_a is
positive definite we take its Cholesky factor (fast); otherwise (fewer samples than dimensions) we
take the symmetric square root from ``eigh(S_a)`` with negative round-off eigenvalues clamped to 0.
Both routes use symmetric eigendecompositions only (no ``scipy.linalg.sqrtm``); tiny negative
eigenvalues of the product are clamped to 0 and the result is clamped at 0 (never negative from
round-off).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import dtrmm

from ganaudit.metrics._arrays import as_float64
from ganaudit.utils.errors import DataError


def feature_stats(feats: Any) -> tuple[np.ndarray, np.ndarray]:
    """(mu [d], sigma [d, d]) in float64 of ``feats`` [N, d], N >= 2, (N-1)-normalized covariance."""
    x = as_float64(feats, "features", 2)
    if x.shape[0] < 2:
        raise DataError(f"features: need at least 2 rows for a covariance, got {x.shape[0]}")
    mu = x.mean(axis=0)
    xc = x - mu
    sigma = xc.T @ xc / (x.shape[0] - 1)
    return mu, sigma


def stats_from_sums(n: int, total: np.ndarray, outer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) from streaming float64 sums: ``total`` = sum x [d], ``outer`` = sum x x^T [d, d]."""
    if n < 2:
        raise DataError(f"features: need at least 2 samples for a covariance, got {n}")
    mu = total / n
    sigma = (outer - n * np.outer(mu, mu)) / (n - 1)
    return mu, (sigma + sigma.T) / 2.0


def _sqrt_trace_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """Tr sqrt(S_a^1/2 S_b S_a^1/2) for symmetric PSD S_a, S_b [d, d]."""
    try:
        factor = np.linalg.cholesky(sigma_a)  # S_a = L L^T, L lower-triangular
        # m = L^T S_b L with two triangular products (half the flops of general ones)
        m = dtrmm(1.0, factor, dtrmm(1.0, factor, sigma_b, side=1, lower=1), side=0, lower=1, trans_a=1)
    except np.linalg.LinAlgError:  # S_a singular (e.g. fewer samples than dimensions)
        w, v = np.linalg.eigh(sigma_a)
        root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # symmetric S_a^1/2
        m = root @ sigma_b @ root
    eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def fid_from_stats(mu_a: Any, sigma_a: Any, mu_b: Any, sigma_b: Any) -> float:
    """FID between Gaussians (mu [d], sigma [d, d]); float64; >= 0."""
    mu_a, mu_b = as_float64(mu_a, "mu_a", 1), as_float64(mu_b, "mu_b", 1)
    sigma_a, sigma_b = as_float64(sigma_a, "sigma_a", 2), as_float64(sigma_b, "sigma_b", 2)
    d = mu_a.shape[0]
    if mu_b.shape != (d,) or sigma_a.shape != (d, d) or sigma_b.shape != (d, d):
        raise DataError(
            f"statistics disagree in dimension: mu_a {mu_a.shape}, sigma_a {sigma_a.shape}, "
            f"mu_b {mu_b.shape}, sigma_b {sigma_b.shape}; expected [d] and [d, d] with one d"
        )
    diff = mu_a - mu_b
    tr_sqrt = _sqrt_trace_product(sigma_a, sigma_b)
    value = float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * tr_sqrt)
    return max(value, 0.0)


def fid(feats_a: Any, feats_b: Any) -> float:
    """FID between feature sets ``feats_a`` [N, d] and ``feats_b`` [M, d] (float64 maths)."""
    mu_a, sigma_a = feature_stats(feats_a)
    mu_b, sigma_b = feature_stats(feats_b)
    return fid_from_stats(mu_a, sigma_a, mu_b, sigma_b)
