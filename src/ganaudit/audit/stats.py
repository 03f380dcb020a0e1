"""Seed-variance statistics of a study's runs (spec §5.5: 5 seeds, median FID reported).

Inputs are the results-store DataFrame (``ganaudit.study.store.records_to_frame``): one row per run with
``label`` (configuration), ``setting`` (hyperparameters), ``seed``, ``status`` and FIDs (lower is better).

A run's *score* is its ``fid_min`` (minimum FID over evaluated checkpoints; what [V2] reported to BO)
or ``fid_final`` (option ``metric``; spec §6.2: UNCONFIRMED which the paper plotted). A finished run
with no finite FID (diverged before its first evaluation) has no score; it is counted as diverged and
never silently dropped: every table carries n_runs / n_ok / n_diverged / n_failed / n_scored.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm, t

from ganaudit.utils.errors import ConfigError

METRICS = ("fid_min", "fid_final")

#: per-group columns of :func:`seed_variance`
VARIANCE_COLUMNS = ["label", "setting", "n_runs", "n_ok", "n_diverged", "n_failed", "n_scored",
                    "median", "q1", "q3", "iqr", "min", "max", "ci_lo", "ci_hi"]


UNFINISHED = ("failed", "interrupted")  # record statuses of runs that did not reach their D steps


def add_scores(runs: pd.DataFrame, metric: str = "fid_min") -> pd.DataFrame:
    """A copy of ``runs`` with a float ``score`` column (NaN: no finite FID, or the run failed or was
    interrupted)."""
    if metric not in METRICS:
        raise ConfigError(f"audit metric '{metric}' unknown; allowed: {', '.join(METRICS)}")
    out = runs.copy()
    score = pd.to_numeric(out[metric], errors="coerce").astype(float)
    score[out["status"].isin(UNFINISHED)] = np.nan  # an interrupted run's FIDs are of a model half-trained
    out["score"] = score.where(np.isfinite(score))
    return out


def bootstrap_median_ci(values, *, level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap CI of the median of ``values`` (1-D, finite), seeded and deterministic.

    Resamples ``n_boot`` times with replacement (numpy ``default_rng(seed)``), takes each resample's
    median and returns the (1-level)/2 and (1+level)/2 percentiles (numpy's linear interpolation).
    One value gives (v, v); no value gives (nan, nan).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("bootstrap_median_ci needs a 1-D array of finite values")
    if not 0 < level < 1:
        raise ConfigError(f"audit ci level must be in (0, 1), got {level}")
    if x.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(int(n_boot), x.size))     # [n_boot, n]
    medians = np.median(x[idx], axis=1)                           # [n_boot]
    lo, hi = np.percentile(medians, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)


def describe(values, *, level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> dict:
    """median, q1, q3, iqr, min, max, ci_lo, ci_hi of finite ``values`` (NaN when there are none)."""
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {k: math.nan for k in ("median", "q1", "q3", "iqr", "min", "max", "ci_lo", "ci_hi")}
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    lo, hi = bootstrap_median_ci(x, level=level, n_boot=n_boot, seed=seed)
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "min": float(x.min()), "max": float(x.max()), "ci_lo": lo, "ci_hi": hi}


def seed_variance(runs: pd.DataFrame, *, metric: str = "fid_min", level: float = 0.95,
                  n_boot: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """One row per (configuration label, setting) over its seeds: counts and :func:`describe` stats.

    The bootstrap of every group uses the same ``seed``, so the table is reproducible bit for bit.
    """
    scored = add_scores(runs, metric)
    rows = []
    for (label, setting), grp in scored.groupby(["label", "setting"], sort=True, dropna=False):
        status = grp["status"]
        rows.append({"label": label, "setting": setting, "n_runs": len(grp),
                     "n_ok": int((status == "ok").sum()), "n_diverged": int((status == "diverged").sum()),
                     "n_failed": int((status == "failed").sum()), "n_scored": int(grp["score"].notna().sum()),
                     **describe(grp["score"].dropna().to_numpy(), level=level, n_boot=n_boot, seed=seed)})
    return pd.DataFrame(rows, columns=VARIANCE_COLUMNS)


#: how :func:`variance_components` combines the two levels of randomness (printed in every verdict)
COMPONENTS_METHOD = ("variance components (one-way random effects, method of moments): sampling variance = "
                     "mean within-input variance (over latent streams, or a bootstrap over the fakes for sample "
                     "files); training-seed variance = max(0, variance of the input means - mean sampling "
                     "variance of a mean); CI of the mean over inputs with Student t")


def variance_components(values: list, sampling_var: list | None = None, *, level: float = 0.95) -> dict:
    """Two levels of randomness in FIDs: ``values[i]`` = FIDs of input i [K_i] (one per latent stream).

    ``sampling_var[i]`` (optional) replaces the within-input variance of input i (a bootstrap variance
    for a sample file with one value). Returns ``mean``, ``var_sampling`` (one FID's sampling variance),
    ``var_seed`` (training-seed variance), ``ci`` (``level`` CI of the mean over inputs: t with n-1 dof
    on the input means when n >= 2, else t with K-1 dof on the streams, else normal with the bootstrap
    variance), ``pi`` (the interval one reported FID, from a new run on a new stream, falls in) and the
    counts. Hand check: values [[1, 3], [5, 7]] -> mean 4, var_sampling 2, var_seed 8 - 1 = 7.
    """
    groups = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    if not groups or any(g.size == 0 for g in groups):
        raise ValueError("variance_components needs at least one value per input")
    within = [float(np.var(g, ddof=1)) if g.size > 1 else math.nan for g in groups]
    if sampling_var is not None:
        within = [w if sv is None else float(sv) for w, sv in zip(within, sampling_var, strict=True)]
    means = np.array([g.mean() for g in groups])
    ks = np.array([g.size for g in groups], dtype=np.float64)
    known = [w for w in within if math.isfinite(w)]
    var_sampling = float(np.mean(known)) if known else math.nan
    n = len(groups)
    mean = float(means.mean())
    if n >= 2:
        var_between = float(np.var(means, ddof=1))
        var_mean_sampling = float(np.nanmean([w / k for w, k in zip(within, ks, strict=True)])) if known else 0.0
        var_seed = max(0.0, var_between - var_mean_sampling)
        se2, q = var_between / n, float(t.ppf((1 + level) / 2, n - 1))
    else:
        var_seed = math.nan
        k = int(ks[0])
        se2 = var_sampling / k if known else math.nan
        q = float(t.ppf((1 + level) / 2, k - 1)) if k > 1 else float(norm.ppf((1 + level) / 2))
    half = q * math.sqrt(se2) if math.isfinite(se2) else math.nan
    spread = (0.0 if not math.isfinite(var_seed) else var_seed) + (var_sampling if known else 0.0) + se2
    half_pi = q * math.sqrt(spread) if math.isfinite(spread) else math.nan
    return {"mean": mean, "var_sampling": var_sampling, "var_seed": var_seed, "ci": [mean - half, mean + half],
            "pi": [mean - half_pi, mean + half_pi], "n_inputs": n, "streams": [int(k) for k in ks],
            "level": level, "method": COMPONENTS_METHOD}
