"""FID: hand-derived values, an independent reference (scipy sqrtm), closed form, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from ganaudit.metrics import fid, fid_from_stats
from ganaudit.metrics.fid import feature_stats, stats_from_sums
from ganaudit.metrics.streaming import FIDMetric
from ganaudit.utils.errors import DataError


def reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID written from the formula with numpy cov (ddof 1) and scipy's general sqrtm."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False, ddof=1), np.cov(b, rowvar=False, ddof=1)
    root_a = scipy.linalg.sqrtm(s_a).real
    cross = scipy.linalg.sqrtm(root_a @ s_b @ root_a).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(cross))


def test_hand_derived_one_dimensional():
    # a = {0, 2}: mean 1, var (n-1) 2;  b = {1, 3, 5}: mean 3, var 4  ->  (1-3)^2 + (sqrt2 - 2)^2
    value = fid(np.array([[0.0], [2.0]]), np.array([[1.0], [3.0], [5.0]]))
    assert value == pytest.approx(4 + (math.sqrt(2) - 2) ** 2, rel=1e-12)
    assert value == pytest.approx(10 - 4 * math.sqrt(2), rel=1e-12)


def test_hand_derived_diagonal_stats():
    # diagonal covariances: FID = |dmu|^2 + sum (sqrt s_a - sqrt s_b)^2 = 1 + 4 + (1-2)^2 + (3-1)^2
    value = fid_from_stats([0.0, 0.0], np.diag([1.0, 9.0]), [1.0, 2.0], np.diag([4.0, 1.0]))
    assert value == pytest.approx(10.0, rel=1e-12)


@pytest.mark.parametrize("n,d", [(400, 16), (30, 64)])  # the second: N < d, the eigh fallback route
def test_matches_independent_reference(n, d):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) * 0.3
    b = rng.standard_normal((n + 7, d)) * 1.2 + 0.5
    assert fid(a, b) == pytest.approx(reference_fid(a, b), rel=1e-6)


def test_identical_sets_give_zero_and_symmetry():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 32))
    y = rng.standard_normal((250, 32)) + 0.1
    assert 0.0 <= fid(x, x) < 1e-9
    assert fid(x, y) == pytest.approx(fid(y, x), rel=1e-9)
    assert fid(x, y) > 0.1


def test_never_negative_on_rank_deficient_identical_stats():
    x = np.random.default_rng(2).standard_normal((10, 50))  # covariance of rank 9 in 50 dims
    assert fid(x, x) >= 0.0
    assert fid(x, x) < 1e-9


def test_converges_to_closed_form_of_two_gaussians():
    rng = np.random.default_rng(3)
    d = 3
    mu_a, mu_b = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, -1.0])
    l_a, l_b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    s_a, s_b = l_a @ l_a.T + 0.5 * np.eye(d), l_b @ l_b.T + 0.5 * np.eye(d)
    root = scipy.linalg.sqrtm(s_a).real
    cross = np.trace(scipy.linalg.sqrtm(root @ s_b @ root).real)
    closed = float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b) - 2 * cross)
    a = rng.multivariate_normal(mu_a, s_a, size=200_000)
    b = rng.multivariate_normal(mu_b, s_b, size=200_000)
    assert closed > 1.0
    assert fid(a, b) == pytest.approx(closed, rel=0.02)


@pytest.mark.parametrize("batch", [1, 7, 64, 500])
def test_streaming_metric_is_batch_size_independent(batch):
    rng = np.random.default_rng(4)
    real = torch.from_numpy(rng.standard_normal((500, 24)).astype(np.float32))
    fake = torch.from_numpy((rng.standard_normal((500, 24)) * 1.1 + 0.2).astype(np.float32))
    metric = FIDMetric(24)
    for i in range(0, 500, batch):
        metric.update(real[i : i + batch], real=True)
        metric.update(fake[i : i + batch], real=False)
    assert float(metric.compute()) == pytest.approx(fid(real.numpy(), fake.numpy()), rel=1e-6, abs=1e-9)


def test_stats_from_sums_equals_two_pass():
    x = np.random.default_rng(5).standard_normal((100, 5)) + 3.0
    mu, sigma = stats_from_sums(100, x.sum(0), x.T @ x)
    mu2, sigma2 = feature_stats(x)
    np.testing.assert_allclose(mu, mu2, rtol=1e-12)
    np.testing.assert_allclose(sigma, sigma2, rtol=1e-9, atol=1e-12)


def test_bad_inputs_are_refused():
    with pytest.raises(DataError, match="NaN"):
        fid(np.array([[np.nan], [1.0]]), np.ones((3, 1)))
    with pytest.raises(DataError, match="dimension"):
        fid(np.ones((3, 2)) + np.eye(3, 2), np.ones((3, 3)) + np.eye(3))
    with pytest.raises(DataError, match="at least 2"):
        fid(np.ones((1, 2)), np.ones((3, 2)))
