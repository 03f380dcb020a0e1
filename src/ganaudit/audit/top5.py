"""Top-5% FID distribution per configuration (spec §6.6; the paper's boxplots, ICML Figs. 1-4).

The pool of a configuration is every model trained for it, fixed and BO settings alike. Its exact
composition is UNCONFIRMED (spec §6.6, §11); option ``pool``:
  * ``runs`` (default): every scored run is one model (each seed of a fixed setting counts);
  * ``setting_medians``: one model per hyperparameter setting, scored by the median over its seeds.
The top fraction keeps the ``max(min_models, ceil(fraction * n))`` lowest scores. Runs without a score
(diverged before any evaluation, failed) are not in the pool; their count is reported beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ganaudit.audit.stats import add_scores
from ganaudit.utils.errors import ConfigError

POOLS = ("runs", "setting_medians")


def top_count(n: int, fraction: float, min_models: int = 1) -> int:
    """How many of ``n`` models form the top ``fraction``: ``min(n, max(min_models, ceil(fraction*n)))``."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"audit top fraction must be in (0, 1], got {fraction}")
    return min(n, max(int(min_models), math.ceil(fraction * n - 1e-9)))


def pool_scores(scored: pd.DataFrame, pool: str) -> np.ndarray:
    """The pool of one configuration's rows (with ``score``) as a 1-D float array of finite scores."""
    if pool == "runs":
        return scored["score"].dropna().to_numpy(dtype=np.float64)
    if pool == "setting_medians":
        med = scored.dropna(subset=["score"]).groupby("setting")["score"].median()
        return med.to_numpy(dtype=np.float64)
    raise ConfigError(f"audit top-5% pool '{pool}' unknown; allowed: {', '.join(POOLS)}")


def top_fraction(runs: pd.DataFrame, *, fraction: float = 0.05, pool: str = "runs", min_models: int = 1,
                 metric: str = "fid_min") -> pd.DataFrame:
    """Per configuration label: pool size, unscored runs, top-k count, the top-k scores (ascending) and
    their median / min / max. Columns: label, n_pool, n_unscored, n_top, top_scores, median, min, max."""
    scored = add_scores(runs, metric)
    rows = []
    for label, grp in scored.groupby("label", sort=True):
        pool_vals = np.sort(pool_scores(grp, pool))
        k = top_count(len(pool_vals), fraction, min_models) if len(pool_vals) else 0
        top = pool_vals[:k]
        rows.append({"label": label, "n_pool": int(len(pool_vals)),
                     "n_unscored": int(grp["score"].isna().sum()), "n_top": int(k),
                     "top_scores": [float(v) for v in top],
                     "median": float(np.median(top)) if k else math.nan,
                     "min": float(top[0]) if k else math.nan, "max": float(top[-1]) if k else math.nan})
    return pd.DataFrame(rows, columns=["label", "n_pool", "n_unscored", "n_top", "top_scores", "median",
                                       "min", "max"])
