"""LSUN crop (TF resize_image_with_crop_or_pad semantics) and the CelebA-HQ box chain."""

from __future__ import annotations

import numpy as np
import pytest

from ganaudit.data.imageops import box_downsample_chain, crop_or_pad, decode_rgb
from ganaudit.utils.errors import DataError


def coords(h: int, w: int) -> np.ndarray:
    """int32 [h, w, 3] whose pixel (y, x) holds (y, x, 7): the crop offset can be read off."""
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.stack([yy, xx, np.full_like(yy, 7)], axis=-1).astype(np.int32)


# (h, w) -> hand-computed (first source row, first source col) of the 128 crop, or the pad offsets.
@pytest.mark.parametrize("h,w,row0,col0", [
    (256, 256, 64, 64),    # even surplus 128: 64 each side
    (257, 341, 64, 106),   # odd surplus: 129//2 = 64 top (extra row dropped at the bottom); 213//2=106
    (256, 129, 64, 0),     # surplus 1: offset 0, last column dropped
    (130, 128, 1, 0),
])
def test_crop_offsets_hand_computed(h, w, row0, col0):
    out = crop_or_pad(coords(h, w), 128, 128)
    assert out.shape == (128, 128, 3)
    assert out[0, 0, 0] == row0 and out[0, 0, 1] == col0
    assert out[127, 127, 0] == row0 + 127 and out[127, 127, 1] == col0 + 127


@pytest.mark.parametrize("h,w,top,left", [
    (100, 128, 14, 0),    # deficit 28 -> 14 zero rows on top, 14 at the bottom
    (101, 300, 13, 86),   # deficit 27 -> 13 on top, 14 at the bottom (extra at the bottom); crop 86
    (127, 127, 0, 0),     # deficit 1 -> the zero row/col goes at the bottom/right
    (1, 1, 63, 63),
])
def test_pad_offsets_hand_computed(h, w, top, left):
    img = coords(h, w) + 1  # nonzero everywhere, so padding is recognisable
    out = crop_or_pad(img, 128, 128)
    rows = np.nonzero(out[:, :, 2].any(axis=1))[0]
    cols = np.nonzero(out[:, :, 2].any(axis=0))[0]
    assert rows[0] == top and rows[-1] == top + min(h, 128) - 1
    if w <= 128:
        assert cols[0] == left and cols[-1] == left + w - 1
    else:
        assert (cols[0], cols[-1]) == (0, 127) and out[top, 0, 1] == left + 1
    assert out[:top].sum() == 0 and out[top + min(h, 128):].sum() == 0


def reference_tf_crop_or_pad(img: np.ndarray, th: int, tw: int) -> np.ndarray:
    """Independent reference written from TF's image_ops_impl formulas, pixel by pixel."""
    h, w = img.shape[:2]
    out = np.zeros((th, tw, img.shape[2]), img.dtype)
    off_crop_h, off_crop_w = max(-(th - h) // 2, 0), max(-(tw - w) // 2, 0)
    off_pad_h, off_pad_w = max((th - h) // 2, 0), max((tw - w) // 2, 0)
    for y in range(min(th, h)):
        for x in range(min(tw, w)):
            out[off_pad_h + y, off_pad_w + x] = img[off_crop_h + y, off_crop_w + x]
    return out


@pytest.mark.parametrize("h,w", [(131, 90), (64, 200), (128, 128), (200, 127)])
def test_crop_matches_reference(h, w):
    img = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crop_or_pad(img, 128, 128), reference_tf_crop_or_pad(img, 128, 128))


def test_box_chain_hand_values_and_reference():
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2, :2] = [0, 1, 255]
    img[0, 0] = [2, 2, 250]
    out = box_downsample_chain(img, 2)
    # top-left block: (2+0+0+0)/4 = 0.5 -> rint 0 (half to even); (2+1+1+1)/4 = 1.25 -> 1;
    # (250+255*3)/4 = 253.75 -> 254; other blocks are 0.
    assert out[0, 0].tolist() == [0, 1, 254] and out[1, 1].tolist() == [0, 0, 0]
    big = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    ref = big.astype(np.float64).reshape(128, 4, 128, 4, 3).mean(axis=(1, 3))  # 4x4 block means
    got = box_downsample_chain(big, 128).astype(np.float64)
    assert np.abs(got - ref).max() <= 0.5 + 1e-9  # rounding of the exact mean
    assert np.mean(got == np.rint(ref)) > 0.99  # float32 chain agrees with exact rounding almost always
    const = np.full((256, 256, 3), 77, np.uint8)
    assert (box_downsample_chain(const, 128) == 77).all()  # invariant: constants stay constant
    assert box_downsample_chain(big[:128, :128], 128).tobytes() == big[:128, :128].tobytes()


@pytest.mark.parametrize("shape", [(300, 300, 3), (256, 128, 3), (64, 64, 3)])
def test_box_chain_rejects_other_sizes(shape):
    with pytest.raises(ValueError, match="target"):
        box_downsample_chain(np.zeros(shape, np.uint8), 128)


def test_undecodable_bytes_name_the_item():
    with pytest.raises(DataError, match=r"cannot decode image somefile\[3\]"):
        decode_rgb(b"\xff\xd8\xff not really a jpeg", "somefile[3]")
