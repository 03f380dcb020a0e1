"""Sample-size bias of FID: FID-infinity and the FID expected at another number of fakes.

FID_N, computed from N fakes against fixed reference statistics, is biased upwards and close to
linear in 1/N (Chong & Forsyth, CVPR 2020, "Effectively Unbiased FID and Inception Score and where
to find them"):

    E[FID_N] ~= FID_inf + slope / N

:func:`fid_curve` scores seeded subsets (drawn without replacement) of ``n_points`` sizes from
``n_min`` to the available N; :func:`fit_inverse_n` fits ``FID_inf`` and ``slope`` by least squares;
:func:`fid_infinity` adds a CI from a bootstrap over the fakes (and over the reference features when
they are given): the whole curve and fit are redone on each resample and the CI is the normal interval
``estimate +- z * sd(bootstrap estimates)`` (the bootstrap's own centre is biased by duplicated rows,
its spread is not). The same fit gives the FID expected at any requested N (:func:`fid_at`), e.g. a
claim made at 5k checked from a 10k evaluation. :func:`fid_n_ci` is the CI of FID at the available N
from the same bootstrap. All functions are pure (features in, numbers out), float64 throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from ganaudit.metrics.fid import feature_stats, fid_from_stats
from ganaudit.utils.errors import ConfigError

__all__ = ["FidInfinity", "closed_form_fd", "fid_at", "fid_curve", "fid_infinity", "fid_n_ci", "fit_inverse_n",
           "subset_sizes"]


def closed_form_fd(mu_a, sigma_a, mu_b, sigma_b) -> float:
    """The Fréchet distance between two Gaussians (the population value FID estimates)."""
    return fid_from_stats(mu_a, sigma_a, mu_b, sigma_b)


def subset_sizes(n: int, n_points: int = 15, n_min: int | None = None) -> np.ndarray:
    """``n_points`` integer sizes evenly spaced from ``n_min`` (default n // 5) to ``n``, increasing."""
    n_min = max(2, n // 5) if n_min is None else int(n_min)
    if n_points < 10:
        raise ConfigError(f"FID-infinity: n_points = {n_points}; expected at least 10 sizes for the 1/N fit")
    if not 2 <= n_min < n:
        raise ConfigError(f"FID-infinity: sizes from {n_min} to {n}; expected 2 <= n_min < n")
    sizes = np.unique(np.linspace(n_min, n, n_points).round().astype(int))
    if sizes.size < 10:
        raise ConfigError(f"FID-infinity: only {sizes.size} distinct sizes between {n_min} and {n}; "
                          "expected at least 10 (more fakes are needed)")
    return sizes


def fid_curve(fake, ref_mu, ref_sigma, sizes, rng: np.random.Generator) -> np.ndarray:
    """FID_n [len(sizes)] of seeded random subsets (without replacement) of ``fake`` [N, d] for each n."""
    fake = np.asarray(fake, dtype=np.float64)
    out = np.empty(len(sizes))
    for i, n in enumerate(sizes):
        idx = rng.choice(fake.shape[0], size=int(n), replace=False)
        out[i] = fid_from_stats(*feature_stats(fake[idx]), ref_mu, ref_sigma)
    return out


def fit_inverse_n(sizes, fids) -> tuple[float, float]:
    """Least-squares (FID_inf, slope) of ``fids ~ FID_inf + slope / sizes``."""
    x = 1.0 / np.asarray(sizes, dtype=np.float64)
    design = np.stack([np.ones_like(x), x], axis=1)  # [k, 2]
    (intercept, slope), *_ = np.linalg.lstsq(design, np.asarray(fids, dtype=np.float64), rcond=None)
    return float(intercept), float(slope)


@dataclass
class FidInfinity:
    """FID_inf with its CI, the 1/N slope, and the bootstrap pairs (intercept, slope) [n_boot, 2]."""

    fid_inf: float
    slope: float
    ci: tuple[float, float]
    n: int
    level: float
    sizes: np.ndarray
    fids: np.ndarray
    boot: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        return {"fid_inf": self.fid_inf, "slope": self.slope, "ci": list(self.ci), "n": self.n,
                "level": self.level, "sizes": self.sizes.tolist(), "fids": self.fids.tolist(),
                "n_boot": int(self.boot.shape[0])}


def _normal_ci(estimate: float, draws: np.ndarray, level: float) -> tuple[float, float]:
    half = float(norm.ppf((1 + level) / 2) * np.std(draws, ddof=1))
    return estimate - half, estimate + half


def _ref_stats(ref):
    """(mu, sigma, features or None) from reference features [M, d] or a (mu, sigma) pair."""
    if isinstance(ref, tuple):
        return np.asarray(ref[0], np.float64), np.asarray(ref[1], np.float64), None
    feats = np.asarray(ref, dtype=np.float64)
    return (*feature_stats(feats), feats)


def fid_infinity(fake, ref, *, n_points: int = 15, n_min: int | None = None, n_boot: int = 100,
                 level: float = 0.95, seed: int = 0) -> FidInfinity:
    """FID_inf of fakes ``fake`` [N, d] against ``ref`` (features [M, d], or exact ``(mu, sigma)``).

    The fit uses :func:`subset_sizes` (``n_points`` >= 10 sizes up to N); the CI resamples the fakes
    (and reference features, when given) ``n_boot`` times with ``numpy.random.default_rng(seed)``.
    """
    fake = np.asarray(fake, dtype=np.float64)
    sizes = subset_sizes(fake.shape[0], n_points, n_min)
    mu_r, sigma_r, ref_feats = _ref_stats(ref)
    rng = np.random.default_rng(seed)
    fids = fid_curve(fake, mu_r, sigma_r, sizes, rng)
    fid_inf, slope = fit_inverse_n(sizes, fids)
    boot = np.empty((int(n_boot), 2))
    for b in range(int(n_boot)):
        f_b = fake[rng.integers(0, fake.shape[0], fake.shape[0])]
        m_b, s_b = (mu_r, sigma_r) if ref_feats is None else \
            feature_stats(ref_feats[rng.integers(0, ref_feats.shape[0], ref_feats.shape[0])])
        boot[b] = fit_inverse_n(sizes, fid_curve(f_b, m_b, s_b, sizes, rng))
    return FidInfinity(fid_inf, slope, _normal_ci(fid_inf, boot[:, 0], level), int(fake.shape[0]), level,
                       sizes, fids, boot)


def fid_at(result: FidInfinity, n: float) -> tuple[float, tuple[float, float]]:
    """(FID expected at ``n`` fakes, its CI) from the fit; ``n = math.inf`` gives FID_inf."""
    if n == math.inf:
        return result.fid_inf, result.ci
    if n < 2:
        raise ConfigError(f"FID at n = {n}: expected n >= 2 fakes")
    value = result.fid_inf + result.slope / n
    draws = result.boot[:, 0] + result.boot[:, 1] / n
    return value, _normal_ci(value, draws, result.level)


def fid_n_ci(fake, ref, *, n_boot: int = 200, level: float = 0.95, seed: int = 0) -> dict:
    """FID at the available N with a bootstrap CI (normal interval from the bootstrap sd).

    Returns ``{"fid", "ci": [lo, hi], "sd", "n_boot"}``; used where no generator can draw new latents.
    """
    fake = np.asarray(fake, dtype=np.float64)
    mu_r, sigma_r, ref_feats = _ref_stats(ref)
    value = fid_from_stats(*feature_stats(fake), mu_r, sigma_r)
    rng = np.random.default_rng(seed)
    draws = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        m_b, s_b = (mu_r, sigma_r) if ref_feats is None else \
            feature_stats(ref_feats[rng.integers(0, ref_feats.shape[0], ref_feats.shape[0])])
        draws[b] = fid_from_stats(*feature_stats(fake[rng.integers(0, fake.shape[0], fake.shape[0])]), m_b, s_b)
    lo, hi = _normal_ci(value, draws, level)
    return {"fid": value, "ci": [lo, hi], "sd": float(np.std(draws, ddof=1)), "n_boot": int(n_boot)}
