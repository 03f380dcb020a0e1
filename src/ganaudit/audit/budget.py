"""FID vs computational budget: the paper's practitioner simulation (spec §6.6).

"We spend a part of the budget on the 'good' hyperparameter settings reported in recent publications,
followed by exploring new settings (i.e. using Bayesian optimization) ... we repeat it 1000 times and
report the average of the minimum attainable FID." For a configuration with fixed settings F (each with
its seeds' scores) and exploration runs E (BO, or random, in proposal order), one repetition is:

    order  = a random permutation of F, each setting scored by one of its seeds,  then E
    curve  = running minimum of the scores along ``order`` (budget k = the first k models)

and the reported curve is the mean over repetitions, k = 1 .. |F| + |E|.

UNCONFIRMED randomisation (spec §6.6, §11), options here:
  * ``seed_pick``: ``random`` (default: a uniformly random seed of the setting per repetition) or
    ``median`` (the median over its seeds, fixed);
  * ``explore_order``: ``sequential`` (default: BO rounds in order, proposals by trial number) or
    ``shuffled`` (a random permutation of E per repetition);
  * ``unscored_fid``: score of a finished run without any finite FID (default 31337, the sentinel
    [V2] gives a NaN FID, spec §6.1), so such models count as useless rather than vanish.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ganaudit.utils.errors import ConfigError

SEED_PICKS = ("random", "median")
EXPLORE_ORDERS = ("sequential", "shuffled")
FIXED_SOURCES = ("fixed", "grid")
EXPLORE_SOURCES = ("bo", "random")
NAN_FID_SENTINEL = 31337.0


def simulate_budget(fixed: Mapping[str, Sequence[float]], explore: Sequence[float] = (), *, reps: int = 1000,
                    seed: int = 0, seed_pick: str = "random", explore_order: str = "sequential") -> np.ndarray:
    """Mean (over ``reps`` repetitions) of the minimum score within budget k; returns ``[|F| + |E|]``.

    ``fixed``: setting -> scores of its seeds (finite floats); ``explore``: scores in proposal order.
    Deterministic for a given ``seed`` (numpy ``default_rng``).
    """
    if seed_pick not in SEED_PICKS:
        raise ConfigError(f"audit budget seed_pick '{seed_pick}' unknown; allowed: {', '.join(SEED_PICKS)}")
    if explore_order not in EXPLORE_ORDERS:
        raise ConfigError(f"audit budget explore_order '{explore_order}' unknown; allowed: "
                          f"{', '.join(EXPLORE_ORDERS)}")
    if reps < 1:
        raise ConfigError(f"audit budget reps must be >= 1, got {reps}")
    groups = [np.asarray(v, dtype=np.float64) for v in fixed.values()]
    if any(g.size == 0 for g in groups):
        raise ValueError("every fixed setting needs at least one score")
    ex = np.asarray(explore, dtype=np.float64)
    n_f, n = len(groups), len(groups) + ex.size
    if n == 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    seqs = np.empty((reps, n))                                          # [reps, |F|+|E|]
    for r in range(reps):
        perm = rng.permutation(n_f)
        if seed_pick == "random":
            picks = [groups[i][rng.integers(groups[i].size)] for i in perm]
        else:
            picks = [float(np.median(groups[i])) for i in perm]
        seqs[r, :n_f] = picks
        seqs[r, n_f:] = rng.permutation(ex) if explore_order == "shuffled" else ex
    return np.minimum.accumulate(seqs, axis=1).mean(axis=0)


def budget_inputs(runs: pd.DataFrame, label: str, unscored_fid: float = NAN_FID_SENTINEL,
                  metric: str = "fid_min") -> tuple[dict[str, list[float]], list[float]]:
    """Fixed settings (setting -> seed scores) and exploration scores (proposal order) of one label.

    Failed runs are left out (they produced no model); finished runs without FID score ``unscored_fid``.
    """
    grp = runs[(runs["label"] == label) & ~runs["status"].isin(("failed", "interrupted"))].copy()
    grp["score"] = pd.to_numeric(grp[metric], errors="coerce").astype(float)
    grp["score"] = grp["score"].where(np.isfinite(grp["score"]), unscored_fid)
    fixed: dict[str, list[float]] = {}
    for setting, g in grp[grp["source"].isin(FIXED_SOURCES)].groupby("setting", sort=True):
        fixed[str(setting)] = g.sort_values("seed")["score"].tolist()
    ex = grp[grp["source"].isin(EXPLORE_SOURCES)].copy()
    ex["_round"] = pd.to_numeric(ex["bo_round"], errors="coerce").fillna(-1)
    ex = ex.sort_values(["_round", "bo_group", "setting", "seed"], na_position="first", kind="stable")
    return fixed, ex["score"].tolist()


def budget_curves(runs: pd.DataFrame, *, reps: int = 1000, seed: int = 0, seed_pick: str = "random",
                  explore_order: str = "sequential", unscored_fid: float = NAN_FID_SENTINEL,
                  metric: str = "fid_min") -> pd.DataFrame:
    """Long table (label, budget k, n_fixed, mean_min_fid) for every configuration label of ``runs``."""
    rows = []
    for label in sorted(runs["label"].dropna().unique()):
        fixed, explore = budget_inputs(runs, label, unscored_fid, metric)
        curve = simulate_budget(fixed, explore, reps=reps, seed=seed, seed_pick=seed_pick,
                                explore_order=explore_order)
        rows += [{"label": label, "budget": k + 1, "n_fixed": len(fixed), "mean_min_fid": float(v)}
                 for k, v in enumerate(curve)]
    return pd.DataFrame(rows, columns=["label", "budget", "n_fixed", "mean_min_fid"])

