"""MS-SSIM (spec §6.5): hand-computed cases, an independent numpy/scipy reference, invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal
import torch

from ganaudit.metrics import ms_ssim
from ganaudit.metrics.ms_ssim import (
    batch_pairwise_ms_ssim,
    diversity_indices,
    diversity_ms_ssim,
    gaussian_window,
)
from ganaudit.metrics.streaming import MSSSIMMetric
from ganaudit.utils.errors import DataError

WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def reference_ms_ssim_pair(x: np.ndarray, y: np.ndarray, shrink_sigma: bool = False) -> float:
    """One pair [3, H, W] in [0, 255], written from the formula with scipy 'valid' correlation.

    The study ([V2] image_similarity.py) clamps the window to min(11, H, W) and keeps sigma = 1.5;
    ``shrink_sigma`` scales sigma with the window instead (the original MS-SSIM reference code)."""
    per_channel = []
    for c in range(3):
        a, b = x[c].astype(np.float64), y[c].astype(np.float64)
        factors = []
        for s in range(5):
            if s:
                a, b = [np.pad(t, ((0, t.shape[0] % 2), (0, t.shape[1] % 2)), mode="edge") for t in (a, b)]
                a, b = [(t[0::2, 0::2] + t[1::2, 0::2] + t[0::2, 1::2] + t[1::2, 1::2]) / 4 for t in (a, b)]
            size = min(11, *a.shape)
            sigma = 1.5 * size / 11 if shrink_sigma else 1.5
            g = np.exp(-((np.arange(size) - (size - 1) / 2) ** 2) / (2 * sigma**2))
            win = np.outer(g, g) / np.outer(g, g).sum()
            f = lambda t, win=win: scipy.signal.correlate2d(t, win, mode="valid")  # noqa: E731
            mu_a, mu_b = f(a), f(b)
            var_a, var_b, cov = f(a * a) - mu_a**2, f(b * b) - mu_b**2, f(a * b) - mu_a * mu_b
            cs = (2 * cov + C2) / (var_a + var_b + C2)
            lum = (2 * mu_a * mu_b + C1) / (mu_a**2 + mu_b**2 + C1)
            factors.append(max(cs.mean(), 0.0) if s < 4 else max((lum * cs).mean(), 0.0))
        per_channel.append(np.prod([v**w for v, w in zip(factors, WEIGHTS, strict=True)]))
    return float(np.mean(per_channel))


def test_identical_images_give_one():
    x = np.random.default_rng(0).uniform(0, 255, (3, 3, 64, 64))
    assert ms_ssim(x, x) == pytest.approx(1.0, abs=1e-12)


def test_hand_computed_constant_images():
    # constant images: every variance is 0, so cs = C2/C2 = 1 at all scales and
    # MS-SSIM = l^0.1333 with l = (2ab + C1) / (a^2 + b^2 + C1), per channel, then the channel mean
    a = np.zeros((1, 3, 32, 32)) + np.array([100.0, 0.0, 255.0])[None, :, None, None]
    b = np.zeros((1, 3, 32, 32)) + np.array([120.0, 0.0, 0.0])[None, :, None, None]
    l0 = (2 * 100 * 120 + C1) / (100**2 + 120**2 + C1)
    l2 = C1 / (255**2 + C1)
    expected = (l0**0.1333 + 1.0 + l2**0.1333) / 3
    assert ms_ssim(a, b) == pytest.approx(expected, rel=1e-12)
    # l0 = 24006.5025 / 24406.5025 = 0.983611; ln -> -0.016526 * 0.1333
    assert l0**0.1333 == pytest.approx(0.997800, abs=1e-6)


@pytest.mark.parametrize("size", [32, 48, 37])
def test_matches_independent_reference(size):
    rng = np.random.default_rng(size)
    x = rng.uniform(0, 255, (2, 3, size, size))
    y = np.clip(x + rng.normal(0, 40, x.shape), 0, 255)
    expected = np.mean([reference_ms_ssim_pair(x[i], y[i]) for i in range(2)])
    assert ms_ssim(x, y) == pytest.approx(expected, rel=1e-6)
    shrunk = np.mean([reference_ms_ssim_pair(x[i], y[i], shrink_sigma=True) for i in range(2)])
    assert ms_ssim(x, y, shrink_sigma=True) == pytest.approx(shrunk, rel=1e-6)


def test_default_keeps_sigma_at_128_like_the_study():
    """At 128x128 the fifth scale is 8x8: window 8, sigma 1.5 (not 1.09); the choice moves the value."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 255, (1, 3, 128, 128))
    y = np.clip(x + rng.normal(0, 60, x.shape), 0, 255)
    expected = reference_ms_ssim_pair(x[0], y[0])
    assert ms_ssim(x, y) == pytest.approx(expected, rel=1e-6)
    assert batch_pairwise_ms_ssim(np.concatenate([x, y])) == pytest.approx(expected, rel=1e-6)
    shrunk = reference_ms_ssim_pair(x[0], y[0], shrink_sigma=True)
    assert abs(expected - shrunk) > 1e-4 * expected  # the two sigmas give different numbers
    assert ms_ssim(x, y, shrink_sigma=True) == pytest.approx(shrunk, rel=1e-6)


def test_hand_derived_ssim_on_an_8x8_scale():
    """One 8x8 scale: window 8 with sigma 1.5 gives one VALID output. Hand-derived: the 1-D weights
    exp(-(k-3.5)^2 / 4.5) / 3.7351 have centre 0.25326, so w_33 = 0.064140; x = 255 at (3, 3) else 0,
    y = 0: mu_x = 16.356, var_x = 65025 w_33 - mu_x^2 = 3903.3, l = C1 / (mu_x^2 + C1) = 0.023731,
    cs = C2 / (var_x + C2) = 0.014772."""
    from ganaudit.metrics.ms_ssim import ssim_components

    x = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    x[0, :, 3, 3] = 255.0
    y = torch.zeros_like(x)
    ssim, cs = ssim_components(x, y)
    assert torch.allclose(cs, torch.full((1, 3), 0.014772, dtype=torch.float64), rtol=1e-4)
    assert torch.allclose(ssim, torch.full((1, 3), 0.023731 * 0.014772, dtype=torch.float64), rtol=2e-4)
    ssim_shrunk, _ = ssim_components(x, y, shrink_sigma=True)  # sigma 1.09: centre weight 0.32928
    assert float(ssim_shrunk[0, 0]) == pytest.approx(7.7796e-05, rel=1e-4)


def test_works_at_128_and_is_symmetric_and_bounded():
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.uniform(0, 255, (2, 3, 128, 128)))
    y = torch.from_numpy(rng.uniform(0, 255, (2, 3, 128, 128)))
    v = ms_ssim(x, y)
    assert 0.0 <= v < 0.2  # independent noise images are dissimilar
    assert ms_ssim(y, x) == pytest.approx(v, rel=1e-12)
    smooth = x.clone()
    assert ms_ssim(x, smooth * 0.98 + 2.0) > 0.9


def test_gaussian_window_normalized_and_centred():
    w = gaussian_window(11, 1.5)
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    assert int(w.argmax()) == 5 * 11 + 5


def test_pairwise_mean_equals_ordered_pairs_mean():
    batch = np.random.default_rng(6).uniform(0, 255, (4, 3, 32, 32))
    ordered = [ms_ssim(batch[i : i + 1], batch[j : j + 1]) for i, j in itertools.permutations(range(4), 2)]
    assert batch_pairwise_ms_ssim(batch) == pytest.approx(np.mean(ordered), rel=1e-12)


def test_diversity_sampling_draws_distinct_samples_deterministically():
    idx = diversity_indices(400, seed=42)
    assert idx.shape == (5, 64) and len(np.unique(idx)) == 320
    np.testing.assert_array_equal(idx, diversity_indices(400, seed=42))
    assert not np.array_equal(idx, diversity_indices(400, seed=43))
    with pytest.raises(DataError, match="at least 320"):
        diversity_indices(100, seed=42)


def test_diversity_of_a_collapsed_generator_is_one():
    same = np.repeat(np.random.default_rng(7).uniform(0, 255, (1, 3, 16, 16)), 5, axis=0)
    assert diversity_ms_ssim([same, same]) == pytest.approx(1.0, abs=1e-12)


def test_streaming_metric_equals_function():
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 255, (5, 3, 32, 32)), rng.uniform(0, 255, (5, 3, 32, 32))
    m = MSSSIMMetric()
    m.update(torch.from_numpy(x[:2]), torch.from_numpy(y[:2]))
    m.update(torch.from_numpy(x[2:]), torch.from_numpy(y[2:]))
    assert float(m.compute()) == pytest.approx(ms_ssim(x, y), rel=1e-12)


def test_refuses_bad_shapes_and_nan():
    with pytest.raises(DataError, match="expected images"):
        ms_ssim(np.zeros((2, 1, 32, 32)), np.zeros((2, 1, 32, 32)))
    with pytest.raises(DataError, match="shapes differ"):
        ms_ssim(np.zeros((2, 3, 32, 32)), np.zeros((3, 3, 32, 32)))
    with pytest.raises(DataError, match="NaN"):
        ms_ssim(np.full((1, 3, 32, 32), np.nan), np.zeros((1, 3, 32, 32)))
