"""Multi-scale SSIM and the study's diversity sampling (spec §6.5; TF ``ssim_multiscale`` semantics).

Per scale s (5 scales, 2x2 average pooling between scales; an odd side is first padded by
repeating its last row/column, i.e. symmetric padding by one):
    window  = Gaussian of size w_s = min(11, H_s, W_s), sigma = 1.5 at every scale   (VALID filtering)
    l  = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
    cs = (2 s_xy + C2) / (s_x^2 + s_y^2 + C2),   C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2
    ssim_s = mean_{HW}(l * cs), cs_s = mean_{HW}(cs)        (per image and channel)
MS-SSIM = prod_{s<5} relu(cs_s)^w_s * relu(ssim_5)^w_5, weights (0.0448, 0.2856, 0.3001, 0.2363,
0.1333), then the mean over the 3 channels. Sigma stays 1.5 when the window is clamped, as in the
study's code ([V2] ``image_similarity.py``: only the size is clamped; at 128x128 the fifth scale is
8x8). ``shrink_sigma=True`` instead shrinks sigma with the window (``1.5 * w_s / 11``, as the
original multi-scale SSIM reference code does); kept as an option, not the study's number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganaudit.utils.errors import DataError

POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2, MAX_VAL = 0.01, 0.03, 255.0
FILTER_SIZE, FILTER_SIGMA = 11, 1.5


def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """Normalized 2-D Gaussian [size, size] float64 centred on the window (TF ``_fspecial_gauss``)."""
    g = _gaussian_1d(size, sigma)
    return torch.outer(g, g)


def _gaussian_1d(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _valid_filter_matrix(n: int, g: torch.Tensor) -> torch.Tensor:
    """Banded matrix [n - s + 1, n] applying the 1-D filter ``g`` [s] with VALID padding."""
    s = len(g)
    mat = torch.zeros(n - s + 1, n, dtype=torch.float64)
    for k in range(s):
        mat.diagonal(k)[:] = g[k]
    return mat


class _Blur:
    """VALID Gaussian filtering of [..., H, W] float64 images as ``A_h @ x @ A_w^T`` (the 2-D window
    is the outer product of 1-D Gaussians, so this equals the depthwise 2-D filtering)."""

    def __init__(self, h: int, w: int, shrink_sigma: bool, device: torch.device) -> None:
        size = min(FILTER_SIZE, h, w)
        sigma = FILTER_SIGMA * size / FILTER_SIZE if shrink_sigma else FILTER_SIGMA
        g = _gaussian_1d(size, sigma)
        self.a_h = _valid_filter_matrix(h, g).to(device)
        self.a_w_t = _valid_filter_matrix(w, g).T.contiguous().to(device)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return self.a_h @ t @ self.a_w_t


def _as_images(x: Any, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).detach().cpu().double()
    if t.ndim != 4 or t.shape[1] != 3:
        raise DataError(f"{name}: expected images [N, 3, H, W] in [0, 255], got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise DataError(f"{name}: holds NaN or inf values; expected finite pixels in [0, 255]")
    return t


def _lum_cs(mu_x, mu_y, bxx, byy, bxy) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean l*cs, mean cs) over H, W from blurred moments (TF ``_ssim_helper``, compensation 1)."""
    c1, c2 = (K1 * MAX_VAL) ** 2, (K2 * MAX_VAL) ** 2
    num0 = 2.0 * mu_x * mu_y
    den0 = mu_x**2 + mu_y**2
    luminance = (num0 + c1) / (den0 + c1)
    cs = (2.0 * bxy - num0 + c2) / (bxx + byy - den0 + c2)
    return (luminance * cs).mean(dim=(-2, -1)), cs.mean(dim=(-2, -1))


def ssim_components(x: torch.Tensor, y: torch.Tensor, shrink_sigma: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(ssim [N, C], cs [N, C]) at one scale for float64 images x, y [N, C, H, W] in [0, 255]."""
    blur = _Blur(x.shape[-2], x.shape[-1], shrink_sigma, x.device)
    return _lum_cs(blur(x), blur(y), blur(x * x), blur(y * y), blur(x * y))


def _downscale(t: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling [N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)], odd sides padded by repetition."""
    pad_h, pad_w = t.shape[2] % 2, t.shape[3] % 2
    if pad_h or pad_w:
        t = F.pad(t, (0, pad_w, 0, pad_h), mode="replicate")
    return F.avg_pool2d(t, 2)


def _combine(factors: list[torch.Tensor]) -> torch.Tensor:
    """MS-SSIM [N] from per-scale [N, C] factors (cs at scales 1-4, ssim at scale 5)."""
    weights = torch.tensor(POWER_FACTORS, dtype=torch.float64, device=factors[0].device)
    stacked = torch.relu(torch.stack(factors, dim=-1))  # [N, C, 5]
    return (stacked**weights).prod(dim=-1).mean(dim=1)


def ms_ssim_pairs(x: torch.Tensor, y: torch.Tensor, shrink_sigma: bool = False) -> torch.Tensor:
    """MS-SSIM per aligned pair [N] for float64 images x, y [N, 3, H, W] in [0, 255]."""
    factors = []
    for scale in range(len(POWER_FACTORS)):
        if scale > 0:
            x, y = _downscale(x), _downscale(y)
        ssim, cs = ssim_components(x, y, shrink_sigma)
        factors.append(ssim if scale == len(POWER_FACTORS) - 1 else cs)
    return _combine(factors)


def ms_ssim(images_a: Any, images_b: Any, shrink_sigma: bool = False) -> float:
    """Mean MS-SSIM over aligned pairs (a[i], b[i]) of images [N, 3, H, W] in [0, 255] (float64)."""
    a, b = _as_images(images_a, "images_a"), _as_images(images_b, "images_b")
    if a.shape != b.shape:
        raise DataError(f"ms_ssim: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}; expected equal shapes")
    return float(ms_ssim_pairs(a, b, shrink_sigma).mean())


def batch_pairwise_ms_ssim(batch: Any, shrink_sigma: bool = False, chunk: int = 512) -> float:
    """Mean MS-SSIM over the B(B-1) ordered pairs of distinct images of ``batch`` [B, 3, H, W].

    MS-SSIM is symmetric in its two images, so the mean over unordered pairs is the same number.
    Per-image moments (blurred x and x^2) are computed once per scale; only x_i * x_j per pair.
    """
    t = _as_images(batch, "batch")
    ii, jj = torch.triu_indices(t.shape[0], t.shape[0], offset=1)
    factors: list[torch.Tensor] = []
    for scale in range(len(POWER_FACTORS)):
        if scale > 0:
            t = _downscale(t)
        blur = _Blur(t.shape[-2], t.shape[-1], shrink_sigma, t.device)
        mu, b2 = blur(t), blur(t * t)  # [B, C, h, w]
        parts = []
        for k in range(0, len(ii), chunk):
            i, j = ii[k : k + chunk], jj[k : k + chunk]
            ssim, cs = _lum_cs(mu[i], mu[j], b2[i], b2[j], blur(t[i] * t[j]))
            parts.append(ssim if scale == len(POWER_FACTORS) - 1 else cs)
        factors.append(torch.cat(parts))
    return float(_combine(factors).mean())


def diversity_indices(n: int, seed: int, batches: int = 5, batch_size: int = 64) -> np.ndarray:
    """Indices [batches, batch_size] of distinct samples of ``range(n)``, a seeded random draw."""
    if n < batches * batch_size:
        raise DataError(f"MS-SSIM sampling needs at least {batches * batch_size} samples, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: batches * batch_size].reshape(batches, batch_size)


def diversity_ms_ssim(batches: list[Any], shrink_sigma: bool = False) -> float:
    """The study's MS-SSIM score: the mean over batches of each batch's mean pairwise MS-SSIM."""
    return float(np.mean([batch_pairwise_ms_ssim(b, shrink_sigma) for b in batches]))
