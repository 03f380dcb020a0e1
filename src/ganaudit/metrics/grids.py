"""Sample grids: what a generator draws, as a PNG a person can look at.

A grid is ``GRID_N`` = 64 images tiled 8 x 8 with a ``GRID_PAD``-pixel grey (128) border around and
between the tiles, so a grid of R x R images is ``8 * R + 9 * GRID_PAD`` pixels square (274 for R = 32).

* Generated grids use the FIRST 64 latents of the evaluation protocol's fixed latent stream
  (:func:`ganaudit.metrics.evaluate.eval_latents`: seed ``protocol.latent_seed`` = 42, z ~ U(-1, 1)), with G in
  eval mode as in the evaluation: the grid shows exactly the evaluation's first 64 samples, and every
  checkpoint of every run is drawn from the same z.
* Real grids show the first 64 images of a prepared split in file order.

Quantization of G's images [0, 1] float -> uint8: ``round(clamp(x, 0, 1) * 255)`` with ``torch.round``
(half to even); the PNG (lossless) stores exactly these values.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ganaudit.metrics.evaluate import latent_stream
from ganaudit.metrics.protocols import Protocol, protocol_for
from ganaudit.utils.errors import ConfigError

__all__ = ["GRID_N", "GRID_COLS", "GRID_PAD", "grid_size", "quantize", "tile", "save_png", "grid_latents",
           "generator_images", "write_generator_grid", "write_real_grid", "step_grid_path", "step_grid_writer"]

GRID_N = 64
GRID_COLS = 8
GRID_PAD = 2
PAD_VALUE = 128


def grid_size(resolution: int, n: int = GRID_N, cols: int = GRID_COLS, pad: int = GRID_PAD) -> tuple[int, int]:
    """(height, width) in pixels of the grid of ``n`` images of ``resolution`` x ``resolution``."""
    rows = -(-n // cols)
    return rows * resolution + (rows + 1) * pad, cols * resolution + (cols + 1) * pad


def quantize(images: torch.Tensor) -> np.ndarray:
    """float images [n, 3, R, R] in [0, 1] -> uint8 [n, R, R, 3] = round(clamp(x, 0, 1) * 255)."""
    q = torch.round(images.detach().float().clamp(0.0, 1.0) * 255.0).to(torch.uint8)
    return q.permute(0, 2, 3, 1).cpu().numpy()


def tile(images: np.ndarray, cols: int = GRID_COLS, pad: int = GRID_PAD) -> np.ndarray:
    """uint8 [n, R, R, 3] -> one uint8 [H, W, 3] image (row-major tiles, grey padding; see grid_size)."""
    n, r = int(images.shape[0]), int(images.shape[1])
    height, width = grid_size(r, n, cols, pad)
    out = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    for i in range(n):
        y, x = pad + (i // cols) * (r + pad), pad + (i % cols) * (r + pad)
        out[y : y + r, x : x + r] = images[i]
    return out


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write uint8 [H, W, 3] as a PNG (atomically: a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(image, mode="RGB").save(tmp, format="PNG")
    tmp.replace(path)
    return path


def grid_latents(latent_seed: int, z_dim: int, n: int = GRID_N, gen_batch: int = 64,
                 latent_rng: str = "numpy_legacy") -> torch.Tensor:
    """The first ``n`` latents [n, z_dim] of the evaluation's stream (seed ``latent_seed``, U(-1, 1))."""
    return torch.cat(list(latent_stream(latent_seed, latent_rng, gen_batch, -(-n // gen_batch), z_dim)))[:n]


@torch.no_grad()
def generator_images(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) [n, 3, R, R] in [0, 1] with G in eval mode (its mode is restored after)."""
    was_training = generator.training
    generator.eval()
    try:
        device = next(generator.parameters()).device
        return generator(z.to(device)).float().cpu()
    finally:
        generator.train(was_training)


def step_grid_path(run_dir: str | Path, step: int) -> Path:
    """``<run_dir>/samples/step_XXXXXX.png`` for D step ``step``."""
    return Path(run_dir) / "samples" / f"step_{int(step):06d}.png"


def write_generator_grid(generator: nn.Module, path: str | Path, *, latent_seed: int, gen_batch: int = 64,
                         z_dim: int | None = None, latent_rng: str = "numpy_legacy") -> Path:
    """Grid PNG of G on the first 64 evaluation latents (``z_dim``: default ``generator.z_dim``)."""
    z = grid_latents(latent_seed, int(z_dim or getattr(generator, "z_dim", 128)), GRID_N, gen_batch, latent_rng)
    return save_png(tile(quantize(generator_images(generator, z))), path)


def write_real_grid(view, path: str | Path, n: int = GRID_N) -> Path:
    """Grid PNG of the first ``n`` images of a prepared split view (``ganaudit.data.open_split``)."""
    return save_png(tile(view.read_batch(0, n)), path)


def _write_step_grid(generator: nn.Module, step: int, *, run_dir: Path, latent_seed: int, gen_batch: int,
                     latent_rng: str) -> Path:
    return write_generator_grid(generator, step_grid_path(run_dir, step), latent_seed=latent_seed,
                                gen_batch=gen_batch, latent_rng=latent_rng)


def step_grid_writer(run_dir: str | Path, dataset: str, protocol: str = "auto"):
    """``fn(generator, step)`` writing :func:`step_grid_path` from the latents of ``protocol`` (as
    resolved for ``dataset``; see ``ganaudit.metrics.protocols.protocol_for``). A name that is no
    registered protocol (an injected test evaluator's) gets the protocols' default latents (seed 42)."""
    try:
        proto = protocol_for(dataset, protocol)
    except ConfigError:
        proto = Protocol(name=protocol, extractor="", real_split="test", n_real={}, n_fake={})
    return partial(_write_step_grid, run_dir=Path(run_dir), latent_seed=proto.latent_seed, gen_batch=proto.gen_batch,
                   latent_rng=proto.latent_rng)
