"""TF1 ``tf.image.resize_bilinear`` (align_corners=False, half_pixel_centers=False, no antialias).

For an output index ``i`` of an axis resized from ``n_in`` to ``n_out`` (float32 arithmetic, as TF):
    scale = n_in / n_out;  src = i * scale;  lo = floor(src);  hi = min(lo + 1, n_in - 1)
    out[i] = in[lo] + (in[hi] - in[lo]) * (src - lo)
The two axes are separable, so the resize is ``Wh @ x @ Ww^T`` with interpolation matrices
``Wh`` [H_out, H_in] and ``Ww`` [W_out, W_in]. Note the grid is anchored at the top-left pixel
(no half-pixel centres): this is the TF-GAN/compare_gan preprocessing of spec §6.1, which
differs from ``torch.nn.functional.interpolate(..., align_corners=False)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


@lru_cache(maxsize=16)
def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Matrix [n_out, n_in] (float64 entries from float32 source positions) of TF1 bilinear resize."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = np.arange(n_out, dtype=np.float32) * scale  # float32, as TF's kernel
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (src - lo.astype(np.float32)).astype(np.float64)
    mat = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    np.add.at(mat, (rows, lo), 1.0 - frac)
    np.add.at(mat, (rows, hi), frac)
    return mat


def resize_bilinear_tf1(images: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize ``images`` [B, C, H, W] (float) to [B, C, size, size] with TF1 bilinear semantics.

    Values keep their range (e.g. [0, 255]); computed in the input's dtype (float32 or float64).
    """
    out_h, out_w = (size, size) if isinstance(size, int) else size
    _, _, h, w = images.shape
    if (h, w) == (out_h, out_w):
        return images
    wh = torch.as_tensor(interpolation_matrix(h, out_h), dtype=images.dtype, device=images.device)
    ww = torch.as_tensor(interpolation_matrix(w, out_w), dtype=images.dtype, device=images.device)
    return wh @ images @ ww.T  # [out_h, H] @ [B, C, H, W] @ [W, out_w]


def tfgan_preprocess(images_0_255: torch.Tensor, size: int = 299) -> torch.Tensor:
    """TF-GAN Inception input: float [0, 255] images [B, 3, H, W] -> [B, 3, size, size] in [-1, 1).

    Resize (TF1 bilinear) first, then ``(x - 128) / 128``; fakes are not quantized.
    """
    x = resize_bilinear_tf1(images_0_255.float(), size)
    return (x - 128.0) / 128.0
