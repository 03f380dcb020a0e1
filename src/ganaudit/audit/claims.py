"""Evaluate a claims file over a study's runs: a verdict per claim (docs/claims.md).

    table = evaluate_claims(store.frame(), load_claims("audits/claims/demo.yaml"))   # one row per part

A claim is split into *parts*, one per group of its ``group_by`` (e.g. per dataset and architecture)
that holds runs of either side. Per part: both sides' values (a run's score, or a setting's median
score over seeds with ``unit: settings``; a finished run without FID scores ``unscored_fid``, a failed
run is left out), the statistic of each side, d = stat(a) - stat(b) with its bootstrap CI, Cliff's
delta and the Hodges-Lehmann shift, and the permutation test (TOST for ``equivalent``). Holm adjusts
every p-value of the file together. Verdict of a part:

    not covered    a side has fewer than 2 values (budget: fewer than max(2, k) settings)
    supported      adjusted p < alpha and d in the claimed direction (equivalent: TOST p < alpha)
    contradicted   adjusted p < alpha and d against it (equivalent: evidence that |d| > margin)
    inconclusive   otherwise; ``n_needed``: seeds (settings) per side that would decide at this effect

and of the claim: contradicted if any part is, supported if every covered part is, not covered if
none is covered, else inconclusive. Every number is reproducible from the file's ``seed``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ganaudit.audit.budget import simulate_budget
from ganaudit.audit.claims_spec import Claim, ClaimsFile
from ganaudit.audit.claims_stats import (
    bootstrap_diff_ci,
    cliffs_delta,
    hodges_lehmann,
    holm,
    permutation_test,
    seeds_for_power,
    statistic_fn,
    tost,
)

__all__ = ["PART_COLUMNS", "evaluate_claims", "evaluate_parts", "claim_verdicts", "claim_groups", "claim_parts",
           "coverage", "is_covered", "select_runs", "side_values"]

PART_COLUMNS = ["claim", "source", "group", "statistic", "direction", "scale", "unit", "n_a", "n_b", "stat_a",
                "stat_b", "d", "ci_lo", "ci_hi", "margin", "cliffs_delta", "hl_shift", "test", "p", "p_holm",
                "p_nonequiv", "p_nonequiv_holm", "verdict", "n_needed"]
BUDGET_CAP = 200  # permutations, bootstrap resamples and repetitions of a budget claim (simulation cost)


def _matches(col: pd.Series, want) -> pd.Series:
    """Rows of ``col`` equal to ``want`` (a value or a list); numbers compared as floats, else as text."""
    values = want if isinstance(want, list) else [want]
    out = pd.Series(False, index=col.index)
    num = pd.to_numeric(col, errors="coerce")
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out |= np.isclose(num.astype(float), float(v)) & num.notna()
        else:
            out |= col.astype(str) == str(v)
    return out


def select_runs(runs: pd.DataFrame, sel: dict) -> pd.DataFrame:
    mask = pd.Series(True, index=runs.index)
    for key, want in sel.items():
        mask &= _matches(runs[key], want)
    return runs[mask]


def side_values(runs: pd.DataFrame, claim: Claim, unscored_fid: float) -> np.ndarray | list:
    """Values of one side's runs for ``claim``: [n] floats (runs or setting medians, on the claim's
    scale), or for ``budget`` a list of per-setting seed-score arrays."""
    runs = runs[runs["status"] != "failed"]
    score = pd.to_numeric(runs[claim.metric], errors="coerce").astype(float)
    if claim.statistic == "frac_diverged":
        vals = ((runs["status"] == "diverged") | ~np.isfinite(score)).astype(float)
    elif claim.metric == "wall_time_s":  # a cost: a run without a time is left out, not penalized
        runs, vals = runs[np.isfinite(score)], score[np.isfinite(score)]
    else:
        vals = score.where(np.isfinite(score), unscored_fid)
    frame = runs.assign(_v=vals.to_numpy())
    if claim.statistic == "budget":
        return [g.sort_values("seed")["_v"].to_numpy(float) for _, g in frame.groupby(["label", "setting"], sort=True)]
    if claim.unit == "settings":
        frame = frame.groupby(["label", "setting"], sort=True)["_v"].median().reset_index()
    v = frame["_v"].to_numpy(float)
    return np.log(v) if claim.scale == "log" else v


def claim_groups(runs: pd.DataFrame, claim: Claim) -> list[tuple[str, pd.DataFrame]]:
    scoped = select_runs(runs, claim.where)
    either = scoped.loc[select_runs(scoped, claim.a).index.union(select_runs(scoped, claim.b).index)]
    if not claim.group_by:
        return [("all", either)]
    if either.empty:
        return [(", ".join(f"{g}=*" for g in claim.group_by), either)]
    out = []
    for key, grp in either.groupby(list(claim.group_by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        out.append((", ".join(f"{g}={v}" for g, v in zip(claim.group_by, key, strict=True)), grp))
    return out


def _seed(cf: ClaimsFile, i: int, j: int) -> int:
    return int(np.random.SeedSequence([cf.seed, i, j]).generate_state(1)[0])


def _budget_stat(settings: list, k: int, seed: int) -> float:
    fixed = {str(i): s for i, s in enumerate(settings)}
    return float(simulate_budget(fixed, reps=BUDGET_CAP, seed=seed)[k - 1])


def _budget_part(a: list, b: list, claim: Claim, seed: int) -> dict:
    """E[min FID | k] of each side (audit.budget simulation); settings permuted / resampled."""
    rng = np.random.default_rng(seed)
    stat_a, stat_b = _budget_stat(a, claim.k, seed), _budget_stat(b, claim.k, seed)
    d = stat_a - stat_b
    pooled, n_a = a + b, len(a)
    d_perm, d_boot = [], []
    for _ in range(BUDGET_CAP):
        order = rng.permutation(len(pooled))
        pa, pb = [pooled[i] for i in order[:n_a]], [pooled[i] for i in order[n_a:]]
        d_perm.append(_budget_stat(pa, claim.k, seed) - _budget_stat(pb, claim.k, seed))
        ba = [a[i] for i in rng.integers(0, len(a), len(a))]
        bb = [b[i] for i in rng.integers(0, len(b), len(b))]
        d_boot.append(_budget_stat(ba, claim.k, seed) - _budget_stat(bb, claim.k, seed))
    d_perm, d_boot = np.asarray(d_perm), np.asarray(d_boot)
    p = (1 + int((np.abs(d_perm) >= abs(d) - 1e-12 * max(1, abs(d))).sum())) / (1 + BUDGET_CAP)
    med_a, med_b = np.array([np.median(s) for s in a]), np.array([np.median(s) for s in b])
    lo, hi = np.percentile(d_boot, [2.5, 97.5])
    return {"stat_a": stat_a, "stat_b": stat_b, "d": d,
            "ci_lo": float(lo), "ci_hi": float(hi), "se": float(np.std(d_boot, ddof=1)),
            "cliffs_delta": cliffs_delta(med_a, med_b), "hl_shift": hodges_lehmann(med_a, med_b),
            "test": f"permutation of settings ({BUDGET_CAP}, Monte Carlo)", "p": p}


def _sample_part(a: np.ndarray, b: np.ndarray, claim: Claim, cf: ClaimsFile, seed: int) -> dict:
    stat = statistic_fn(claim.statistic, q=claim.q, threshold=claim.threshold)
    # a spread is tested on deviations from each side's median (the IQR is unchanged): otherwise a
    # difference of location alone would widen every mixed permutation and hide the spread
    pa, pb = (a - np.median(a), b - np.median(b)) if claim.statistic == "iqr" else (a, b)
    perm = permutation_test(pa, pb, stat, n_perm=cf.n_perm, seed=seed)
    ci = bootstrap_diff_ci(a, b, stat, n_boot=cf.n_boot, level=1 - cf.alpha, seed=seed)
    kind = "exact" if perm["exact"] else f"Monte Carlo {cf.n_perm}"
    out = {"stat_a": float(stat(a)), "stat_b": float(stat(b)), "d": perm["d"], **ci,
           "cliffs_delta": cliffs_delta(a, b), "hl_shift": hodges_lehmann(a, b),
           "test": f"permutation ({kind})", "p": perm["p_two"]}
    if claim.direction == "equivalent":
        t = tost(a, b, stat, claim.margin, n_perm=cf.n_perm, seed=seed)
        out.update(test=f"TOST permutation ({kind})", p=t["p_equiv"], p_nonequiv=t["p_nonequiv"])
    return out


def _sides_of(grp: pd.DataFrame, claim: Claim, cf: ClaimsFile) -> tuple:
    a = side_values(select_runs(grp, claim.a), claim, cf.unscored_fid)
    b = side_values(select_runs(grp, claim.b), claim, cf.unscored_fid)
    return a, b


def is_covered(claim: Claim, n_a: int, n_b: int) -> bool:
    """Both sides have at least 2 values (a budget claim: at least max(2, k) settings)."""
    need = max(2, claim.k or 0)
    return n_a >= need and n_b >= need


def coverage(runs: pd.DataFrame, cf: ClaimsFile) -> dict[str, int]:
    """claim id -> number of its parts that ``runs`` cover (no test computed: for plans and checks)."""
    return {c.id: sum(is_covered(c, *map(len, _sides_of(grp, c, cf))) for _, grp in claim_groups(runs, c))
            for c in cf.claims}


def _part(claim: Claim, cf: ClaimsFile, group: str, a, b, seed: int) -> dict:
    row = {c: math.nan for c in PART_COLUMNS}
    row.update(claim=claim.id, source=claim.source, group=group, statistic=claim.statistic,
               direction=claim.direction, scale=claim.scale, unit=claim.unit, n_a=len(a), n_b=len(b),
               margin=claim.margin if claim.margin is not None else math.nan, test="", verdict="not covered")
    if not is_covered(claim, len(a), len(b)):
        return row
    if claim.statistic == "budget":
        row.update(_budget_part(a, b, claim, seed))
    else:
        row.update(_sample_part(np.asarray(a, float), np.asarray(b, float), claim, cf, seed))
    row["verdict"] = "pending"  # decided once the whole file's p-values are Holm-adjusted
    return row


def min_decidable_n(alpha: float) -> int:
    """Smallest n per side at which an exact two-sided permutation test can reach p < alpha at all
    (its smallest p-value is 2 / C(2n, n)); the normal approximation alone would promise less."""
    n = 2
    while 2 / math.comb(2 * n, n) >= alpha:
        n += 1
    return n


def _decide(row: dict, alpha: float) -> str:
    if row["direction"] == "equivalent":
        if row["p_holm"] < alpha:
            return "supported"
        return "contradicted" if row["p_nonequiv_holm"] < alpha else "inconclusive"
    if row["p_holm"] >= alpha:
        return "inconclusive"
    wanted = row["d"] < 0 if row["direction"] == "less" else row["d"] > 0
    return "supported" if wanted else "contradicted"


def claim_parts(runs: pd.DataFrame, cf: ClaimsFile) -> list[tuple[Claim, str, object, object]]:
    """(claim, group, values of a, values of b) for every part of every claim of ``cf`` over ``runs``."""
    return [(claim, group, *_sides_of(grp, claim, cf)) for claim in cf.claims
            for group, grp in claim_groups(runs, claim)]


def evaluate_claims(runs: pd.DataFrame, cf: ClaimsFile) -> pd.DataFrame:
    """One row per claim part (``PART_COLUMNS``), Holm-adjusted over the whole file, with verdicts."""
    return evaluate_parts(claim_parts(runs, cf), cf)


def evaluate_parts(parts: list, cf: ClaimsFile) -> pd.DataFrame:
    """:func:`evaluate_claims` on parts given as (claim, group, a, b): the statistics without the frame
    (a part's random streams are seeded by the file's seed, its claim's index and the part's index)."""
    rows, index = [], {c.id: i for i, c in enumerate(cf.claims)}
    seen: dict[str, int] = {}
    for claim, group, a, b in parts:
        j = seen[claim.id] = seen.get(claim.id, -1) + 1
        rows.append(_part(claim, cf, group, a, b, _seed(cf, index[claim.id], j)))
    table = pd.DataFrame(rows, columns=PART_COLUMNS + ["se"])
    covered = table["verdict"] != "not covered"
    # the family: every p-value of a covered part (equivalence parts bring two: equivalent, not equivalent)
    fam = [(i, "p") for i in table.index[covered]]
    fam += [(i, "p_nonequiv") for i in table.index[covered & (table["direction"] == "equivalent")]]
    adj = holm([table.at[i, c] for i, c in fam]) if fam else []
    for (i, c), p in zip(fam, adj, strict=True):
        table.at[i, f"{c}_holm"] = p
    for i in table.index[covered]:
        row = table.loc[i]
        table.at[i, "verdict"] = _decide(row, cf.alpha)
        if table.at[i, "verdict"] == "inconclusive":
            n_now = 2 / (1 / row["n_a"] + 1 / row["n_b"])
            m = row["margin"] if row["direction"] == "equivalent" else None
            alpha = cf.alpha / max(1, len(fam))  # the strictest Holm step: conservative
            n = seeds_for_power(row["d"], row["se"], n_now, alpha=alpha, power=cf.power, margin=m)
            table.at[i, "n_needed"] = max(n, min_decidable_n(alpha)) if math.isfinite(n) else n
    return table[PART_COLUMNS]


def claim_verdicts(parts: pd.DataFrame, cf: ClaimsFile) -> pd.DataFrame:
    """One row per claim: id, source, verdict over its parts, parts covered, statement, cites, choice."""
    rows = []
    for claim in cf.claims:
        v = parts.loc[parts["claim"] == claim.id, "verdict"]
        cov = v[v != "not covered"]
        if (cov == "contradicted").any():
            verdict = "contradicted"
        elif cov.empty:
            verdict = "not covered"
        else:
            verdict = "supported" if (cov == "supported").all() else "inconclusive"
        rows.append({"claim": claim.id, "source": claim.source, "verdict": verdict, "parts": len(v),
                     "covered": len(cov), "statement": claim.statement, "cites": claim.cites,
                     "choice": claim.choice})
    return pd.DataFrame(rows, columns=["claim", "source", "verdict", "parts", "covered", "statement", "cites",
                                       "choice"])
