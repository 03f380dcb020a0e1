"""Seed variance, top-5% and budget simulation on synthetic results with hand-computed answers."""

import math

import numpy as np
import pytest

from ganaudit.audit.budget import budget_curves, budget_inputs, simulate_budget
from ganaudit.audit.stats import bootstrap_median_ci, describe, seed_variance
from ganaudit.audit.top5 import top_count, top_fraction
from ganaudit.study.store import records_to_frame
from ganaudit.utils.errors import ConfigError
from tests.study.helpers import record


# ------------------------------------------------------------------ seed variance
def test_describe_hand_computed():
    d = describe([40.0, 10.0, 30.0, 20.0])
    # linear quartiles of 10,20,30,40: q1 = 10 + 0.75*10, median 25, q3 = 30 + 0.25*10
    assert (d["q1"], d["median"], d["q3"], d["iqr"]) == (17.5, 25.0, 32.5, 15.0)
    assert (d["min"], d["max"]) == (10.0, 40.0)
    assert 10.0 <= d["ci_lo"] <= 25.0 <= d["ci_hi"] <= 40.0


def test_bootstrap_two_values_hand_computed():
    # resample medians of {a, b}: a w.p. 1/4, (a+b)/2 w.p. 1/2, b w.p. 1/4 -> 2.5% = a, 97.5% = b
    assert bootstrap_median_ci([3.0, 7.0], n_boot=4000) == (3.0, 7.0)
    assert bootstrap_median_ci([5.0]) == (5.0, 5.0)


def test_bootstrap_matches_reference_implementation():
    x = np.array([31.0, 25.5, 28.2, 40.1, 27.7])
    lo, hi = bootstrap_median_ci(x, n_boot=2000, seed=5)
    rng = np.random.default_rng(5)                      # reference: the formula, loop by loop
    draws = rng.integers(0, len(x), size=(2000, len(x)))
    meds = sorted(float(np.median([x[i] for i in row])) for row in draws)

    def pct(p):                                         # numpy 'linear' percentile by hand
        pos = p / 100 * (len(meds) - 1)
        f = math.floor(pos)
        return meds[f] + (pos - f) * (meds[min(f + 1, len(meds) - 1)] - meds[f])

    assert lo == pytest.approx(pct(2.5), rel=0, abs=1e-12)
    assert hi == pytest.approx(pct(97.5), rel=0, abs=1e-12)


def test_bootstrap_invariants():
    x = np.array([31.0, 25.5, 28.2, 40.1, 27.7])
    lo, hi = bootstrap_median_ci(x, seed=1)
    assert lo <= np.median(x) <= hi and lo > x.min() - 1e-12 and hi < x.max() + 1e-12
    lo2, hi2 = bootstrap_median_ci(x + 100.0, seed=1)      # translation equivariant
    assert (lo2 - 100.0, hi2 - 100.0) == pytest.approx((lo, hi), abs=1e-9)
    lo3, hi3 = bootstrap_median_ci(x * 2.0, seed=1)        # scale equivariant
    assert (lo3, hi3) == pytest.approx((2 * lo, 2 * hi), abs=1e-9)
    assert bootstrap_median_ci(x, seed=1) == (lo, hi)      # seeded
    assert bootstrap_median_ci([4.0] * 5) == (4.0, 4.0)
    with pytest.raises(ConfigError):
        bootstrap_median_ci(x, level=1.5)


def test_seed_variance_counts_diverged_and_failed():
    frame = records_to_frame([
        record("a-s0", seed=0, fid_min=10.0), record("a-s1", seed=1, fid_min=20.0),
        record("a-s2", seed=2, status="diverged", fid_min=None),
        record("a-s3", seed=3, status="failed", fid_min=None),
        record("b-s0", label="other", fid_min=50.0)])
    v = seed_variance(frame).set_index("label")
    row = v.loc["cfg"]
    assert (row["n_runs"], row["n_ok"], row["n_diverged"], row["n_failed"], row["n_scored"]) == (4, 2, 1, 1, 2)
    assert row["median"] == 15.0 and (row["min"], row["max"]) == (10.0, 20.0)
    assert (row["ci_lo"], row["ci_hi"]) == (10.0, 20.0)
    assert v.loc["other", "median"] == 50.0


def test_metric_fid_final_option():
    frame = records_to_frame([record("a-s0", fid_min=10.0, fid_final=12.0)])
    assert seed_variance(frame, metric="fid_final")["median"].iloc[0] == 12.0
    with pytest.raises(ConfigError, match="metric"):
        seed_variance(frame, metric="nope")


# ------------------------------------------------------------------ top 5%
@pytest.mark.parametrize("n, k", [(1, 1), (20, 1), (21, 2), (40, 2), (100, 5), (101, 6)])
def test_top_count_hand_computed(n, k):
    assert top_count(n, 0.05) == k


def test_top_fraction_pools():
    recs = [record(f"x{i}-s0", setting=f"s{i // 2}", seed=i % 2, fid_min=float(100 - i)) for i in range(40)]
    recs.append(record("d-s0", setting="s99", status="diverged", fid_min=None))
    frame = records_to_frame(recs)
    runs = top_fraction(frame).iloc[0]
    assert (runs["n_pool"], runs["n_unscored"], runs["n_top"]) == (40, 1, 2)
    assert runs["top_scores"] == [61.0, 62.0]          # the 2 lowest of 100..61
    med = top_fraction(frame, pool="setting_medians").iloc[0]
    # 20 settings, each the median of (100-2j, 99-2j) = 99.5-2j -> lowest 61.5; top 1 of 20
    assert (med["n_pool"], med["n_top"], med["top_scores"]) == (20, 1, [61.5])
    with pytest.raises(ConfigError, match="pool"):
        top_fraction(frame, pool="nope")


# ------------------------------------------------------------------ budget
def expected_min_exact(values, k):
    """Reference: E[min of first k of a random order]; sorted v: P(min = v_i) = C(n-i, k-1) / C(n, k)."""
    v = sorted(values)
    n = len(v)
    return sum(v[i] * math.comb(n - 1 - i, k - 1) for i in range(n)) / math.comb(n, k)


def test_budget_three_settings_hand_computed():
    curve = simulate_budget({"a": [10.0], "b": [20.0], "c": [30.0]}, reps=1000, seed=0)
    # k=1: mean 20; k=2: 10*(2/3) + 20*(1/3) = 13.33; k=3: 10.  MC std at k=1 ~ 8.2/sqrt(1000) = 0.26
    assert curve[0] == pytest.approx(20.0, abs=1.0)
    assert curve[1] == pytest.approx(40 / 3, abs=0.6)
    assert curve[2] == 10.0
    assert np.all(np.diff(curve) <= 0)                  # invariant: non-increasing


def test_budget_matches_exact_reference():
    vals = [55.0, 12.0, 31.0, 40.0, 18.0, 77.0]
    curve = simulate_budget({str(i): [v] for i, v in enumerate(vals)}, reps=4000, seed=3)
    for k in range(1, 7):
        assert curve[k - 1] == pytest.approx(expected_min_exact(vals, k), abs=1.5)


def test_budget_seeds_and_exploration_hand_computed():
    # seeds: a = {10, 30} picked at random, b = {20}: k=1 mean of (E a = 20, b = 20) = 20;
    # k=2: min(a, 20) = 10 or 20 -> 15
    curve = simulate_budget({"a": [10.0, 30.0], "b": [20.0]}, reps=4000, seed=1)
    assert curve[0] == pytest.approx(20.0, abs=0.6) and curve[1] == pytest.approx(15.0, abs=0.5)
    med = simulate_budget({"a": [10.0, 30.0], "b": [20.0]}, reps=10, seed=1, seed_pick="median")
    assert med.tolist() == [20.0, 20.0]                 # median of a = 20
    # one fixed setting then BO in order: exactly [50, 40, 10]
    assert simulate_budget({"a": [50.0]}, [40.0, 60.0, 10.0], reps=5).tolist() == [50.0, 40.0, 40.0, 10.0]
    shuffled = simulate_budget({"a": [50.0]}, [40.0, 60.0, 10.0], reps=3000, explore_order="shuffled")
    # k=2: the first explored is 40/60/10 -> min(50, .) = 40, 50, 10 -> mean 33.3
    assert shuffled[1] == pytest.approx(100 / 3, abs=1.5) and shuffled[3] == 10.0
    assert np.array_equal(simulate_budget({"a": [1.0, 2.0]}, reps=50, seed=9),
                          simulate_budget({"a": [1.0, 2.0]}, reps=50, seed=9))
    with pytest.raises(ConfigError, match="seed_pick"):
        simulate_budget({"a": [1.0]}, seed_pick="best")


def test_budget_inputs_from_store_frame():
    frame = records_to_frame([
        record("a-s0", setting="s1", seed=0, fid_min=30.0), record("a-s1", setting="s1", seed=1, fid_min=32.0),
        record("b-s0", setting="s2", fid_min=40.0),
        record("c-s0", setting="bo1", source="bo", bo_round=1, bo_group="g", fid_min=20.0),
        record("d-s0", setting="bo0", source="bo", bo_round=0, bo_group="g", fid_min=None, status="diverged"),
        record("e-s0", setting="bo2", source="bo", bo_round=0, bo_group="g", status="failed", fid_min=None)])
    fixed, explore = budget_inputs(frame, "cfg", unscored_fid=999.0)
    assert fixed == {"s1": [30.0, 32.0], "s2": [40.0]}
    assert explore == [999.0, 20.0]                     # round 0 (diverged, sentinel) then round 1; failed left out
    curves = budget_curves(frame, reps=200, unscored_fid=999.0)
    assert curves["budget"].tolist() == [1, 2, 3, 4] and curves["mean_min_fid"].iloc[-1] == 20.0
    assert (curves["n_fixed"] == 2).all()
