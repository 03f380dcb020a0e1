"""FID-infinity and FID at N (ganaudit.metrics.sample_size) on synthetic Gaussian features."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import sqrtm

from ganaudit.metrics.fid import feature_stats, fid_from_stats
from ganaudit.metrics.sample_size import (
    closed_form_fd,
    fid_at,
    fid_curve,
    fid_infinity,
    fid_n_ci,
    fit_inverse_n,
    subset_sizes,
)
from ganaudit.utils.errors import ConfigError


def gaussians(d: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    return (np.zeros(d), a @ a.T / d + 0.5 * np.eye(d)), (np.full(d, 0.3), b @ b.T / d + 0.5 * np.eye(d))


def test_fit_recovers_a_hand_made_line():
    sizes = subset_sizes(1000)
    assert (len(sizes), sizes[0], sizes[-1]) == (15, 200, 1000)
    assert fit_inverse_n(sizes, 3.5 + 120.0 / sizes) == pytest.approx((3.5, 120.0), rel=1e-10)


def test_closed_form_matches_an_independent_formula():
    (mu_r, s_r), (mu_f, s_f) = gaussians(6)
    root = np.real(sqrtm(s_r @ s_f))
    ref = float((mu_r - mu_f) @ (mu_r - mu_f) + np.trace(s_r + s_f - 2 * root))
    assert closed_form_fd(mu_f, s_f, mu_r, s_r) == pytest.approx(ref, rel=1e-9)
    # 1-d by hand: (m1 - m2)^2 + (s1 - s2)^2
    assert closed_form_fd([1.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1.0 + 1.0, rel=1e-12)


def test_curve_at_full_size_is_the_plain_fid():
    (mu_r, s_r), (mu_f, s_f) = gaussians(4)
    x = np.random.default_rng(0).multivariate_normal(mu_f, s_f, size=300)
    full = fid_curve(x, mu_r, s_r, [300], np.random.default_rng(5))[0]
    assert full == pytest.approx(fid_from_stats(*feature_stats(x), mu_r, s_r), rel=1e-12)


def test_too_few_sizes_are_refused():
    with pytest.raises(ConfigError, match="at least 10"):
        subset_sizes(1000, n_points=5)
    with pytest.raises(ConfigError, match="distinct sizes"):
        subset_sizes(8)


def test_extrapolation_and_ci_coverage_on_gaussians():
    """Small calibration (the full one: benchmarks/bench_fid_calibration.py, 200+ trials).

    40 trials, d = 16, N = 400 fakes against exact reference statistics: the FID_inf CI covers the
    closed-form distance and the bootstrap CI of FID_N covers E[FID_N] (mean of 2000 independent
    draws) in >= 35 of 40 trials (a binomial(40, 0.95) draw falls below 35 with probability < 5%);
    FID_inf is on average closer to the true distance than FID_N.
    """
    d, n, trials = 16, 400, 40
    (mu_r, s_r), (mu_f, s_f) = gaussians(d)
    true = closed_form_fd(mu_f, s_f, mu_r, s_r)
    rng = np.random.default_rng(7)
    chol = np.linalg.cholesky(s_f)
    draw = lambda: mu_f + rng.normal(size=(n, d)) @ chol.T  # noqa: E731
    expected_n = np.mean([fid_from_stats(*feature_stats(draw()), mu_r, s_r) for _ in range(2000)])
    cover_inf = cover_n = 0
    err_inf, err_n = [], []
    for t in range(trials):
        x = draw()
        res = fid_infinity(x, (mu_r, s_r), n_boot=60, seed=t)
        at_n = fid_n_ci(x, (mu_r, s_r), n_boot=100, seed=t)
        cover_inf += res.ci[0] <= true <= res.ci[1]
        cover_n += at_n["ci"][0] <= expected_n <= at_n["ci"][1]
        err_inf.append(res.fid_inf - true)
        err_n.append(at_n["fid"] - true)
    assert cover_inf >= 35 and cover_n >= 35, (cover_inf, cover_n)
    assert abs(np.mean(err_inf)) < 0.4 * abs(np.mean(err_n))  # the 1/N bias is removed
    assert np.mean(np.abs(err_inf)) < np.mean(np.abs(err_n))
    assert expected_n - true == pytest.approx(np.mean(err_n), abs=0.15)  # FID_N's bias, seen both ways


def test_fid_at_n_reads_the_fitted_line():
    (mu_r, s_r), (mu_f, s_f) = gaussians(4)
    x = np.random.default_rng(3).multivariate_normal(mu_f, s_f, size=500)
    res = fid_infinity(x, (mu_r, s_r), n_boot=20, seed=0)
    assert fid_at(res, math.inf) == (res.fid_inf, res.ci)
    value, (lo, hi) = fid_at(res, 250)
    assert value == pytest.approx(res.fid_inf + res.slope / 250, rel=1e-12) and lo < value < hi
