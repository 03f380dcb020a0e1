"""The claims statistics, each pinned three ways: by hand, against a reference implementation, by an
invariant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ganaudit.audit.claims import min_decidable_n
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


def test_cliffs_delta_by_hand():
    # a = [1, 4], b = [2, 3, 4]: pairs (a > b) = (4,2), (4,3) = 2; (a < b) = (1,2), (1,3), (1,4) = 3; one tie
    assert cliffs_delta([1, 4], [2, 3, 4]) == pytest.approx((2 - 3) / 6, abs=1e-15)
    assert cliffs_delta([5, 6], [1, 2]) == 1.0 and cliffs_delta([1, 2], [5, 6]) == -1.0


def test_cliffs_delta_matches_mann_whitney_u():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 9), rng.normal(0.5, 1, 7)
    u = stats.mannwhitneyu(a, b).statistic  # U of a: pairs a > b, ties 1/2
    assert cliffs_delta(a, b) == pytest.approx(2 * u / (a.size * b.size) - 1, abs=1e-12)


def test_hodges_lehmann_by_hand_and_shift_invariant():
    # differences of a = [1, 5] and b = [0, 2]: 1, -1, 5, 3 -> median (1 + 3) / 2 = 2
    assert hodges_lehmann([1, 5], [0, 2]) == pytest.approx(2.0, abs=1e-15)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 7), rng.normal(0, 1, 5)
    assert hodges_lehmann(a + 3.25, b) == pytest.approx(hodges_lehmann(a, b) + 3.25, abs=1e-12)


def test_holm_on_a_known_vector():
    # p = (0.01, 0.04, 0.03, 0.005), m = 4: sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03,
    # 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06; back in the given order:
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], rtol=0, atol=1e-15)
    assert holm([0.9, 0.6])[0] == 1.0  # capped


def test_holm_matches_statsmodels_formula_independently():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.2, 12)
    order = np.argsort(p)
    ref = np.empty_like(p)
    run = 0.0
    for rank, i in enumerate(order):  # the textbook step-down loop
        run = max(run, min(1.0, (p.size - rank) * p[i]))
        ref[i] = run
    np.testing.assert_allclose(holm(p), ref, rtol=0, atol=1e-15)


def test_permutation_p_equals_exact_mann_whitney():
    a = np.array([1.1, 2.3, 2.9, 4.0, 5.5])
    b = np.array([3.1, 4.4, 6.0, 6.2, 7.5])
    ranks = stats.rankdata(np.concatenate([a, b]))
    mean_rank = statistic_fn("frac_diverged")  # the mean along the last axis
    res = permutation_test(ranks[:5], ranks[5:], mean_rank, n_perm=1000)
    ref = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue
    assert res["exact"] and res["p_two"] == pytest.approx(ref, abs=1e-12)
    one = stats.mannwhitneyu(a, b, alternative="less", method="exact").pvalue
    assert res["p_less"] == pytest.approx(one, abs=1e-12)


def test_permutation_by_hand_three_against_three():
    # complete separation, 20 splits: only the observed split and its mirror reach |d| -> 2 / 20
    mean = statistic_fn("frac_diverged")
    res = permutation_test([1, 2, 3], [10, 11, 12], mean)
    assert res["p_two"] == pytest.approx(0.1, abs=1e-15) and res["p_less"] == pytest.approx(0.05, abs=1e-15)
    assert res["d"] == pytest.approx(-9.0, abs=1e-15)


def test_monte_carlo_p_is_never_zero_and_seeded():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 30), rng.normal(5, 1, 30)
    med = statistic_fn("median")
    r1 = permutation_test(a, b, med, n_perm=200, seed=7)
    assert not r1["exact"] and r1["p_two"] == pytest.approx(1 / 201, abs=1e-15)
    assert permutation_test(a, b, med, n_perm=200, seed=7) == r1


def test_statistics_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0, 100.0]])
    assert statistic_fn("median")(x)[0] == 3.0
    assert statistic_fn("iqr")(x)[0] == pytest.approx(4.0 - 2.0, abs=1e-15)
    assert statistic_fn("frac_above", threshold=3.5)(x)[0] == pytest.approx(0.4, abs=1e-15)
    assert statistic_fn("quantile", q=0.25)(x)[0] == pytest.approx(2.0, abs=1e-15)
    # top 40 % of 5 = the best 2 values (1, 2): their median 1.5
    assert statistic_fn("top_fraction", q=0.4)(x)[0] == pytest.approx(1.5, abs=1e-15)


def test_bootstrap_ci_is_seeded_and_degenerate_for_constants():
    med = statistic_fn("median")
    ci = bootstrap_diff_ci([5.0] * 4, [2.0] * 6, med, n_boot=100, seed=0)
    assert (ci["ci_lo"], ci["ci_hi"], ci["se"]) == (3.0, 3.0, 0.0)
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 20), rng.normal(1, 1, 20)
    assert bootstrap_diff_ci(a, b, med, n_boot=300, seed=3) == bootstrap_diff_ci(a, b, med, n_boot=300, seed=3)
    ci = bootstrap_diff_ci(a, b, med, n_boot=2000, seed=3)
    assert ci["ci_lo"] < float(np.median(a) - np.median(b)) < ci["ci_hi"]


def test_tost_inside_and_outside_the_margin():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 0.05, 30)
    med = statistic_fn("median")
    inside = tost(base + 0.01, rng.normal(0, 0.05, 30), med, 0.2, n_perm=400, seed=1)
    assert inside["p_equiv"] < 0.01 and inside["p_nonequiv"] > 0.5
    outside = tost(base + 1.0, rng.normal(0, 0.05, 30), med, 0.2, n_perm=400, seed=1)
    assert outside["p_equiv"] > 0.5 and outside["p_nonequiv"] < 0.01


def test_seeds_for_power_by_hand():
    # n = n_now * ((z(0.975) + z(0.8)) * se / |d|)^2 = 3 * ((1.959964 + 0.841621) * 0.5 / 1)^2 = 5.885 -> 6
    assert seeds_for_power(-1.0, 0.5, 3, alpha=0.05, power=0.8) == 6
    # equivalence: gap = margin - |d| = 0.05; z(0.95) + z(0.9) = 1.644854 + 1.281552; 10 * (2.926405*0.02/0.05)^2
    assert seeds_for_power(0.05, 0.02, 10, alpha=0.05, power=0.8, margin=0.1) == math.ceil(
        10 * (2.926405 * 0.02 / 0.05) ** 2)
    assert seeds_for_power(0.0, 0.5, 3, alpha=0.05) == math.inf
    assert seeds_for_power(0.2, 0.1, 3, alpha=0.05, margin=0.1) == math.inf
    # no spread in any resample (shares 1 vs 0): the formula's limit, 0; still inf without a gap
    assert seeds_for_power(1.0, 0.0, 3, alpha=0.05) == 0
    assert seeds_for_power(0.0, 0.0, 3, alpha=0.05) == math.inf
    assert math.isnan(seeds_for_power(1.0, math.nan, 3, alpha=0.05))
    assert math.isnan(seeds_for_power(1.0, -0.1, 3, alpha=0.05))


def test_min_decidable_n_by_hand():
    # smallest two-sided exact p = 2 / C(2n, n): n=3 -> 0.1, n=4 -> 0.0286, n=5 -> 0.0079
    assert min_decidable_n(0.05) == 4 and min_decidable_n(0.025) == 5 and min_decidable_n(0.2) == 3
