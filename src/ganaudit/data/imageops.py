"""Pure image transforms used by preparation. All images are uint8 ndarrays [H, W, 3] (HWC, RGB)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganaudit.utils.errors import DataError


def decode_rgb(data: bytes, where: str) -> np.ndarray:
    """Decode JPEG/PNG/WebP ``data`` to uint8 [H, W, 3] RGB; DataError naming ``where`` if undecodable."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(
            f"cannot decode image {where}: {exc}; expected a readable JPEG, PNG or WebP image"
        ) from None


def read_rgb_file(path: Path) -> np.ndarray:
    """Decode the image file ``path`` to uint8 [H, W, 3] RGB (DataError naming the file if corrupt)."""
    return decode_rgb(Path(path).read_bytes(), str(path))


def crop_or_pad(image: np.ndarray, target_h: int, target_w: int) -> np.ndarray:
    """Central crop and/or zero pad to [target_h, target_w, C], no rescaling.

    Exactly ``tf.image.resize_image_with_crop_or_pad`` (TF 1.x image_ops_impl): per axis with
    ``diff = target - size``::

        offset_crop = max(-diff // 2, 0)      # = max((size - target) // 2, 0), floor division
        offset_pad  = max(diff // 2, 0)       # = max((target - size) // 2, 0)

    so an odd surplus drops the extra row/column at the bottom/right, and an odd deficit puts the extra
    zero row/column at the bottom/right. image: [H, W, C] any dtype; returns the same dtype.
    """
    h, w = image.shape[:2]
    crop_h, crop_w = max((h - target_h) // 2, 0), max((w - target_w) // 2, 0)
    pad_h, pad_w = max((target_h - h) // 2, 0), max((target_w - w) // 2, 0)
    ch, cw = min(target_h, h), min(target_w, w)
    cropped = image[crop_h : crop_h + ch, crop_w : crop_w + cw]
    out = np.zeros((target_h, target_w) + image.shape[2:], dtype=image.dtype)
    out[pad_h : pad_h + ch, pad_w : pad_w + cw] = cropped
    return out


def check_square_pow2(shape: tuple[int, ...], target: int) -> None:
    """ValueError unless ``shape`` [S, S, ...] has S = target·2^k, k >= 0."""
    s = shape[0]
    if shape[1] != s or s < target or s % target or (s // target) & (s // target - 1):
        raise ValueError(f"size {tuple(shape[:2])} is not a square of target·2^k (target {target})")


def box_downsample_chain(image: np.ndarray, target: int) -> np.ndarray:
    """Downsample a square uint8 [S, S, 3] image to [target, target, 3] by repeated 2×2 box averaging.

    Follows ProGAN's dataset_tool resolution chain: each level averages 2×2 blocks in float32
    (``(a + b + c + d) * 0.25``), carrying the unrounded float to the next level; the result is
    rounded once with ``rint`` and clipped to [0, 255]. S must be target·2^k (k ≥ 0).
    """
    check_square_pow2(image.shape, target)
    x = image.astype(np.float32)
    while x.shape[0] > target:
        x = (x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]) * np.float32(0.25)
    return np.rint(x).clip(0, 255).astype(np.uint8)
