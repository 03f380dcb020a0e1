"""Statistics of the claims audit (docs/claims.md): effects, permutation tests, TOST, Holm, power.

Every function takes 1-D float64 samples ``a`` [n_a] and ``b`` [n_b] (lower FID is better) and is
deterministic for a given ``seed`` (numpy ``default_rng``). ``stat`` is a function ``[..., n] -> [...]``
applied along the last axis, so permutations and bootstrap resamples are evaluated in one call.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Callable

import numpy as np
from scipy import stats as _st

__all__ = ["cliffs_delta", "hodges_lehmann", "statistic_fn", "permutation_test", "bootstrap_diff_ci",
           "tost", "holm", "seeds_for_power"]

Stat = Callable[[np.ndarray], np.ndarray]


def cliffs_delta(a, b) -> float:
    """P(a > b) - P(a < b) over all pairs, in [-1, 1] (positive: ``a`` tends to have the higher FID)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = a[:, None] - b[None, :]                                   # [n_a, n_b]
    return float((np.sign(diff)).mean())


def hodges_lehmann(a, b) -> float:
    """Hodges-Lehmann shift: the median of all pairwise differences a_i - b_j."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.median((a[:, None] - b[None, :]).ravel()))


def _top_median(x: np.ndarray, q: float) -> np.ndarray:
    m = max(1, math.ceil(q * x.shape[-1]))
    return np.median(np.sort(x, axis=-1)[..., :m], axis=-1)


def statistic_fn(name: str, *, q: float | None = None, threshold: float | None = None) -> Stat:
    """The claim statistic ``name`` as a function of values ``[..., n] -> [...]``.

    median; quantile (q); iqr (75th - 25th percentile); frac_above (share of values > threshold);
    frac_diverged (share of 1s in 0/1 indicators); top_fraction (median of the best ceil(q n) values).
    """
    table: dict[str, Stat] = {
        "median": lambda x: np.median(x, axis=-1),
        "quantile": lambda x: np.quantile(x, q, axis=-1),
        "iqr": lambda x: np.subtract(*np.quantile(x, [0.75, 0.25], axis=-1)),
        "frac_above": lambda x: (x > threshold).mean(axis=-1),
        "frac_diverged": lambda x: x.mean(axis=-1),
        "top_fraction": lambda x: _top_median(x, q),
    }
    return table[name]


@functools.lru_cache(maxsize=64)
def _all_splits(n: int, n_a: int) -> np.ndarray:
    """Every split of ``n`` pooled values into n_a + (n - n_a): ``[C(n, n_a), n]`` indices, read-only."""
    rows = []
    for pick in itertools.combinations(range(n), n_a):
        chosen = set(pick)
        rows.append(list(pick) + [i for i in range(n) if i not in chosen])
    out = np.asarray(rows, dtype=np.int64)
    out.flags.writeable = False
    return out


def _splits(n: int, n_a: int, n_perm: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Index permutations of ``n`` pooled values ``[P, n]`` (first n_a: side a): all splits when there
    are at most ``n_perm`` of them (exact test), else ``n_perm`` random ones."""
    if math.comb(n, n_a) <= n_perm:
        return _all_splits(n, n_a), True
    return np.argsort(rng.random((n_perm, n)), axis=1), False


def permutation_test(a, b, stat: Stat, *, n_perm: int = 2000, seed: int = 0, shift: float = 0.0) -> dict:
    """Permutation distribution of d = stat(a + shift) - stat(b) under exchangeable sides.

    Returns ``d`` (observed), ``p_two`` (|d*| >= |d|), ``p_greater`` (d* >= d), ``p_less`` (d* <= d) and
    ``exact`` (every split enumerated). Monte Carlo p-values are (1 + count) / (1 + n_perm), so they are
    never 0 and the test keeps its level.
    """
    a = np.asarray(a, float) + shift
    b = np.asarray(b, float)
    pooled = np.concatenate([a, b])                                  # [n]
    idx, exact = _splits(pooled.size, a.size, n_perm, np.random.default_rng(seed))
    z = pooled[idx]                                                  # [P, n]
    d_perm = stat(z[:, :a.size]) - stat(z[:, a.size:])               # [P]
    d = float(stat(a) - stat(b))
    tol = 1e-12 * max(1.0, abs(d))

    def p(count: np.ndarray) -> float:
        k = int(count.sum())
        return k / len(d_perm) if exact else (1 + k) / (1 + len(d_perm))

    return {"d": d, "p_two": p(np.abs(d_perm) >= abs(d) - tol), "p_greater": p(d_perm >= d - tol),
            "p_less": p(d_perm <= d + tol), "exact": exact}


def bootstrap_diff_ci(a, b, stat: Stat, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap CI of stat(a) - stat(b), each side resampled on its own; also its SE."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    da = stat(a[rng.integers(0, a.size, (n_boot, a.size))])          # [B]
    db = stat(b[rng.integers(0, b.size, (n_boot, b.size))])          # [B]
    d = da - db
    lo, hi = np.percentile(d, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return {"ci_lo": float(lo), "ci_hi": float(hi), "se": float(np.std(d, ddof=1))}


def tost(a, b, stat: Stat, margin: float, *, n_perm: int = 2000, seed: int = 0) -> dict:
    """Two one-sided permutation tests of |stat(a) - stat(b)| < margin (a shift-equivariant stat).

    H01: d <= -margin is tested by shifting ``a`` up by the margin (then the sides have one location at
    the boundary) and asking whether d* >= observed; H02: d >= margin likewise shifted down.
    ``p_equiv`` = max of the two; ``p_nonequiv`` (evidence that |d| > margin) = 2 x the smaller of the
    two opposite one-sided tests, capped at 1.
    """
    up = permutation_test(a, b, stat, n_perm=n_perm, seed=seed, shift=margin)
    down = permutation_test(a, b, stat, n_perm=n_perm, seed=seed, shift=-margin)
    return {"p_equiv": max(up["p_greater"], down["p_less"]),
            "p_nonequiv": min(1.0, 2 * min(down["p_greater"], up["p_less"]))}


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as given): max_{j<=i} min(1, (m - j + 1) p_(j))."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out


def seeds_for_power(d: float, se: float, n_now: float, *, alpha: float, power: float = 0.8,
                    margin: float | None = None) -> float:
    """Seeds (or settings) per side at which the claim's test decides at the observed effect, by a normal
    approximation: SE(n) = se * sqrt(n_now / n), so n = n_now * ((z_a + z_b) * se / gap)^2, where
    directional: gap = |d|, z_a = z(1 - alpha/2), z_b = z(power);
    equivalent:  gap = margin - |d|, z_a = z(1 - alpha), z_b = z((1 + power) / 2).
    inf when the gap is 0 or negative (no n decides at this effect); 0 when ``se`` is 0 and the gap
    positive (every bootstrap resample gave the same effect, e.g. shares of 1 and 0: the formula's limit,
    so the caller's floor, the smallest n a permutation test can decide at, is the answer); nan without
    a usable SE (negative, nan or inf).
    """
    if not (se >= 0 and math.isfinite(se)):
        return math.nan
    if margin is None:
        gap, za, zb = abs(d), _st.norm.ppf(1 - alpha / 2), _st.norm.ppf(power)
    else:
        gap, za, zb = margin - abs(d), _st.norm.ppf(1 - alpha), _st.norm.ppf((1 + power) / 2)
    if gap <= 0:
        return math.inf
    return float(math.ceil(n_now * ((za + zb) * se / gap) ** 2))
