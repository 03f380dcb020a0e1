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

from ganaudit.utils.errors import ConfigError

METRICS = ("fid_min", "fid_final")

#: per-group columns of :func:`seed_variance`
VARIANCE_COLUMNS = ["label", "setting", "n_runs", "n_ok", "n_diverged", "n_failed", "n_scored",
                    "median", "q1", "q3", "iqr", "min", "max", "ci_lo", "ci_hi"]


def add_scores(runs: pd.DataFrame, metric: str = "fid_min") -> pd.DataFrame:
    """A copy of ``runs`` with a float ``score`` column (NaN: no finite FID, or the run failed)."""
    if metric not in METRICS:
        raise ConfigError(f"audit metric '{metric}' unknown; allowed: {', '.join(METRICS)}")
    out = runs.copy()
    score = pd.to_numeric(out[metric], errors="coerce").astype(float)
    score[out["status"] == "failed"] = np.nan
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
