"""KID and IS: hand-derived values, independent references from the formulas, invariants."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from ganaudit.metrics import inception_score, kid, kid_with_std
from ganaudit.metrics.kid import _block_bounds, kid_blocks
from ganaudit.metrics.streaming import InceptionScoreMetric, KIDMetric
from ganaudit.utils.errors import DataError


def reference_mmd2(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 with k(x,y) = (x.y/d + 1)^3, written with explicit pair loops."""
    d = a.shape[1]
    k = lambda x, y: (float(np.dot(x, y)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(a), len(b)
    aa = sum(k(a[i], a[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    bb = sum(k(b[i], b[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    ab = sum(k(x, y) for x in a for y in b) / (m * n)
    return aa + bb - 2 * ab


def test_kid_hand_derived():
    # d=1: k_aa off-diagonal (0*1+1)^3 = 1; k_bb (2*3+1)^3 = 343; k_ab mean (1+1+27+64)/4 = 23.25
    assert kid(np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])) == pytest.approx(1 + 343 - 46.5, rel=1e-12)


def test_block_layout_hand_derived():
    assert list(_block_bounds(10, 3)) == [0, 3, 6, 10]  # sizes 3, 3, 4: larger blocks last
    assert list(_block_bounds(2048, 2)) == [0, 1024, 2048]
    assert len(kid_blocks(np.zeros((2049, 2)) + np.eye(2049, 2), np.ones((2049, 2)))) == 3


@pytest.mark.parametrize("n_a,n_b,block", [(40, 40, 1024), (50, 37, 16)])
def test_kid_matches_reference(n_a, n_b, block):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n_a, 6)), rng.standard_normal((n_b, 6)) + 0.3
    nb = math.ceil(max(n_a, n_b) / block)
    ia, ib = _block_bounds(n_a, nb), _block_bounds(n_b, nb)
    expected = np.mean([reference_mmd2(a[ia[i] : ia[i + 1]], b[ib[i] : ib[i + 1]]) for i in range(nb)])
    assert kid(a, b, block) == pytest.approx(expected, rel=1e-6)


def test_kid_of_one_distribution_is_zero_within_its_standard_error():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    mean, std = kid_with_std(a, b, max_block_size=100)
    assert std > 0
    assert abs(mean) < 3 * std
    shifted_mean, shifted_std = kid_with_std(a, b + 0.5, max_block_size=100)
    assert shifted_mean > 10 * shifted_std  # and a real difference is detected


def test_kid_streaming_metric_equals_function():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((130, 8)), rng.standard_normal((120, 8)) * 1.3
    m = KIDMetric(max_block_size=64)
    for i in range(0, 130, 33):
        m.update(torch.from_numpy(a[i : i + 33]), real=True)
    for i in range(0, 120, 50):
        m.update(torch.from_numpy(b[i : i + 50]), real=False)
    assert float(m.compute()) == pytest.approx(kid(a, b, 64), rel=1e-9)


def test_kid_refuses_tiny_blocks_and_mismatched_dims():
    with pytest.raises(DataError, match="fewer than 2 rows"):
        kid(np.ones((3000, 2)), np.ones((3, 2)))
    with pytest.raises(DataError, match="dimension"):
        kid(np.ones((4, 2)), np.ones((4, 3)))


def reference_is(logits: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) with an explicit per-sample KL loop."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    q = p.mean(0)
    kls = [sum(pi[y] * (math.log(pi[y]) - math.log(q[y])) for y in range(len(q)) if pi[y] > 0) for pi in p]
    return math.exp(sum(kls) / len(kls))


@pytest.mark.parametrize("k", [1, 2, 10, 1008])
def test_is_of_one_hot_over_k_equally_used_classes_is_k(k):
    labels = np.arange(3 * k) % k
    logits = np.full((3 * k, max(k, 10)), -1e4)
    logits[np.arange(3 * k), labels] = 0.0
    assert inception_score(logits) == pytest.approx(k, rel=1e-9)


def test_is_of_identical_predictions_is_one():
    same = np.tile(np.random.default_rng(3).standard_normal(1008), (20, 1))
    assert inception_score(same) == pytest.approx(1.0, abs=1e-9)


def test_is_matches_reference_and_streaming():
    logits = np.random.default_rng(4).standard_normal((64, 12)) * 3
    assert inception_score(logits) == pytest.approx(reference_is(logits), rel=1e-6)
    assert 1.0 < inception_score(logits) < 12.0
    m = InceptionScoreMetric(12)
    for i in range(0, 64, 10):
        m.update(torch.from_numpy(logits[i : i + 10]).float().double())
    assert float(m.compute()) == pytest.approx(reference_is(logits), rel=1e-6)


def test_is_refuses_nan_logits():
    with pytest.raises(DataError, match="NaN"):
        inception_score(np.array([[0.0, np.nan]]))


def test_metrics_take_an_injected_extractor():
    """The Metric classes run images through the injected extractor (features, logits)."""
    from ganaudit.metrics import fid
    from ganaudit.metrics.streaming import FIDMetric

    def extractor(images):  # [B, 3, H, W] -> (features [B, 3] = channel means, logits [B, 3])
        m = images.mean(dim=(2, 3))
        return m, m / 10

    rng = np.random.default_rng(9)
    real, fake = rng.uniform(0, 255, (40, 3, 4, 4)), rng.uniform(0, 200, (30, 3, 4, 4))
    fid_m, kid_m = FIDMetric(3, extractor=extractor), KIDMetric(extractor=extractor)
    is_m = InceptionScoreMetric(3, extractor=extractor)
    for batch, is_real in ((real[:25], True), (real[25:], True), (fake, False)):
        t = torch.from_numpy(batch)
        fid_m.update(t, real=is_real)
        kid_m.update(t, real=is_real)
        if not is_real:
            is_m.update(t)
    f_real, f_fake = real.mean(axis=(2, 3)), fake.mean(axis=(2, 3))
    assert float(fid_m.compute()) == pytest.approx(fid(f_real, f_fake), rel=1e-9)
    assert float(kid_m.compute()) == pytest.approx(kid(f_real, f_fake), rel=1e-9)
    assert float(is_m.compute()) == pytest.approx(inception_score(f_fake / 10), rel=1e-9)
