"""What a protocol variant does to the images or latents it changes (docs/why-fid-differs.md).

Pure tensor functions, each on float images [B, 3, H, W] in [0, 255] (the protocols' input):

* :func:`resize_images`: a user's own resize of the *reference* images to the extractor's input size
  with one of :data:`RESIZE_FILTERS` (the extractor's own TF1 bilinear resize is then the identity);
* :func:`jpeg_roundtrip`: fakes saved as JPEG at a quality and read back (PIL, 4:2:0 as PIL's default);
* :func:`quantize`: fakes rounded (as a PNG writer does) or truncated to uint8;
* :func:`latent_batches`: the latents of stream ``k`` (stream 0 is the protocol's own, e.g. the study's
  ``np.random.seed(42)`` U(-1, 1) batches of 64) from U(-1, 1) or N(0, 1).
"""

from __future__ import annotations

import io
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganaudit.metrics.evaluate import latent_stream
from ganaudit.metrics.protocols import Protocol
from ganaudit.metrics.tf_resize import resize_bilinear_tf1
from ganaudit.utils.errors import ConfigError

#: resize filters of the ``resize=`` variant; ``tf1_bilinear`` is what the study's extractor does itself
RESIZE_FILTERS = ("tf1_bilinear", "pil_bicubic", "torch_bilinear", "torch_bicubic", "nearest")
#: extractors that resize their input, with their input size (other protocols feed images as they are)
RESIZING_EXTRACTORS = {"inception_2015_12_05": 299}
JPEG_QUALITIES = (95, 90, 75)
QUANTIZE_MODES = ("round", "truncate")
LATENTS = ("uniform", "normal")


def resize_images(images: torch.Tensor, size: int, method: str) -> torch.Tensor:
    """images [B, 3, H, W] float [0, 255] -> [B, 3, size, size] float [0, 255] with ``method``."""
    if method == "tf1_bilinear":
        return resize_bilinear_tf1(images, size)
    if method in ("torch_bilinear", "torch_bicubic"):
        out = F.interpolate(images, size=(size, size), mode=method.split("_")[1], align_corners=False,
                            antialias=False)
        return out.clamp(0.0, 255.0)
    if method == "nearest":
        return F.interpolate(images, size=(size, size), mode="nearest")
    if method == "pil_bicubic":
        out = []
        for img in images.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy():
            pil = Image.fromarray(img).resize((size, size), Image.BICUBIC)  # antialiased in PIL
            out.append(torch.from_numpy(np.asarray(pil, dtype=np.float32)).permute(2, 0, 1))
        return torch.stack(out)
    raise ConfigError(f"resize filter '{method}' unknown; expected one of {', '.join(RESIZE_FILTERS)}")


def quantize(images: torch.Tensor, mode: str) -> torch.Tensor:
    """uint8 values as float: ``round`` (a PNG writer) or ``truncate`` (``.astype(uint8)`` of floats)."""
    if mode == "round":
        return images.round().clamp(0.0, 255.0)
    if mode == "truncate":
        return images.clamp(0.0, 255.0).floor()
    raise ConfigError(f"quantize mode '{mode}' unknown; expected one of {', '.join(QUANTIZE_MODES)}")


def jpeg_roundtrip(images: torch.Tensor, quality: int) -> torch.Tensor:
    """Each image rounded to uint8, saved as JPEG at ``quality`` (PIL) and decoded; float [0, 255]."""
    out = []
    for img in images.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy():
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
        decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float32)
        out.append(torch.from_numpy(decoded).permute(2, 0, 1))
    return torch.stack(out).to(images.device)


def stream_seed(proto: Protocol, k: int) -> int:
    """The seed of latent stream ``k``: the protocol's ``latent_seed`` (42) + k; stream 0 is the protocol's."""
    return int(proto.latent_seed) + int(k)


def latent_batches(proto: Protocol, k: int, n: int, z_dim: int, dist: str = "uniform") -> Iterator[torch.Tensor]:
    """ceil(n / gen_batch) batches float32 [gen_batch, z_dim] of stream ``k`` (CPU).

    ``uniform``: exactly :func:`ganaudit.metrics.evaluate.latent_stream` (stream 0 = the protocol's
    latents, bit for bit); ``normal``: N(0, 1) from ``numpy.random.RandomState(seed)`` in the same batching.
    """
    batches = -(-n // proto.gen_batch)
    if dist == "uniform":
        yield from latent_stream(stream_seed(proto, k), proto.latent_rng, proto.gen_batch, batches, z_dim)
        return
    if dist != "normal":
        raise ConfigError(f"latent distribution '{dist}' unknown; expected one of {', '.join(LATENTS)}")
    rs = np.random.RandomState(stream_seed(proto, k))
    for _ in range(batches):
        yield torch.from_numpy(rs.standard_normal(size=(proto.gen_batch, z_dim)).astype(np.float32))
