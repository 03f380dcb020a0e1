"""TF1 bilinear resize (align_corners=False, no half-pixel centres): hand-derived vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganaudit.metrics.tf_resize import interpolation_matrix, resize_bilinear_tf1, tfgan_preprocess


def test_upscale_2_to_4_hand_derived():
    # scale 0.5: src = 0, .5, 1, 1.5 -> [a, (a+b)/2, b, b] (the last clamps hi to index 1)
    m = interpolation_matrix(2, 4)
    np.testing.assert_array_equal(m, [[1, 0], [0.5, 0.5], [0, 1], [0, 1]])


def test_downscale_3_to_2_hand_derived():
    # scale 1.5: src = 0, 1.5 -> [x0, (x1 + x2)/2]
    np.testing.assert_array_equal(interpolation_matrix(3, 2), [[1, 0, 0], [0, 0.5, 0.5]])


def test_32_to_299_first_rows_hand_derived():
    m = interpolation_matrix(32, 299)
    s = np.float32(32) / np.float32(299)  # 0.10702341...
    assert m[0, 0] == 1.0
    assert m[1, 0] == pytest.approx(1 - float(s), abs=1e-7) and m[1, 1] == pytest.approx(float(s), abs=1e-7)
    # dst 10: src = 1.0702 -> between pixels 1 and 2
    assert m[10, 1] == pytest.approx(1 - (10 * float(s) - 1), abs=1e-6)
    # the last rows clamp at the last input pixel: src(298) = 31.89 -> lo 31, hi min(32, 31) = 31
    assert m[298, 31] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-12)


def test_2d_image_and_invariants():
    img = torch.tensor([[[[0.0, 10.0], [20.0, 30.0]]]], dtype=torch.float64)
    out = resize_bilinear_tf1(img, 4)[0, 0]
    expected = torch.tensor([[0, 5, 10, 10], [10, 15, 20, 20], [20, 25, 30, 30], [20, 25, 30, 30]], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    const = torch.full((2, 3, 32, 32), 77.0)
    torch.testing.assert_close(resize_bilinear_tf1(const, 299), torch.full((2, 3, 299, 299), 77.0))
    assert resize_bilinear_tf1(const, 32) is const


def test_differs_from_half_pixel_interpolation():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    ours = resize_bilinear_tf1(x, 8)
    half_pixel = F.interpolate(x, size=8, mode="bilinear", align_corners=False)
    assert (ours - half_pixel).abs().max() > 0.1
    assert ours[0, 0, 0, 0] == 0.0  # TF1 anchors the grid at the top-left pixel


def test_preprocess_scales_to_tfgan_range():
    x = torch.tensor([0.0, 128.0, 255.0]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    out = tfgan_preprocess(x, size=8)
    assert out.shape == (1, 3, 8, 8) and out.dtype == torch.float32
    assert out[0, :, 0, 0].tolist() == [-1.0, 0.0, 127.0 / 128.0]
