"""What every architecture shares: the ARCHS registry, the :class:`Arch` entry, D/G base classes,
channel-width scaling and the latent sampler.

An :class:`Arch` validates ``(resolution, d_norm, width, z_dim, init)`` with ConfigErrors naming the
option (``dataset.resolution``, ``norm``, ``arch.width``, ``arch.z_dim``, ``arch.init``) and the allowed
values, then builds ``(G, D)``. Weight draws use torch's global RNG: same seed -> same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ganaudit.axes.archs.init import INITS
from ganaudit.axes.fixed_conv import set_conv_kernels
from ganaudit.axes.norms import NORMS, raw_weight
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.registry import Registry

__all__ = ["ARCHS", "Arch", "Discriminator", "Generator", "scaled", "sample_z", "Z_DIM"]

Z_DIM = 128


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1 (``width=1`` is the study)."""
    return max(1, int(round(channels * width)))


def sample_z(n: int, z_dim: int = Z_DIM, generator: torch.Generator | None = None) -> Tensor:
    """Latents ``z ~ U(-1, 1)^[n, z_dim]`` (float32, CPU), from ``generator`` or torch's global RNG."""
    if n < 0 or z_dim < 1:
        raise ValueError(f"sample_z: need n >= 0 and z_dim >= 1, got n={n}, z_dim={z_dim}")
    return torch.rand(n, z_dim, generator=generator) * 2.0 - 1.0


class Discriminator(nn.Module):
    """Base D: ``forward(x [B,3,R,R] in [0,1]) -> logits [B]``; knows its L2-penalized weights."""

    resolution: int

    def penalized_weights(self) -> list[Tensor]:
        """Raw (un-SN) weights of every conv/linear layer incl. shortcuts, in module order (spec §2.3)."""
        return [raw_weight(m) for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


class Generator(nn.Module):
    """Base G: ``forward(z [B, z_dim]) -> images [B, 3, R, R] in [0, 1]``."""

    z_dim: int
    resolution: int


Builder = Callable[[int, str, float, int, str], "tuple[Generator, Discriminator]"]


@dataclass(frozen=True)
class Arch:
    """One registered architecture: which ``(resolution, d_norm)`` it supports and how to build it."""

    name: str
    d_norms: tuple[str, ...]
    resolution_ok: Callable[[int], bool]
    resolutions_doc: str  # human-readable allowed resolutions, e.g. "128" or "multiples of 8"
    builder: Builder
    norm_reason: str = ""

    def check(self, resolution: int, d_norm: str) -> None:
        """ConfigError if this arch does not support ``resolution`` or D normalization ``d_norm``."""
        if isinstance(resolution, bool) or not isinstance(resolution, int) or not self.resolution_ok(resolution):
            raise ConfigError(
                f"option 'dataset.resolution': arch '{self.name}' does not support resolution "
                f"{resolution!r}; allowed: {self.resolutions_doc}"
            )
        NORMS.get(d_norm)  # unknown name -> ConfigError listing every norm
        if d_norm not in self.d_norms:
            raise ConfigError(
                f"option 'norm': arch '{self.name}' does not support norm '{d_norm}' in its D"
                f"{self.norm_reason}; allowed values: {', '.join(self.d_norms)}"
            )

    def build(
        self,
        resolution: int,
        d_norm: str,
        width: float = 1.0,
        z_dim: int = Z_DIM,
        init: str = "v2",
        conv_kernels: str = "aten",
    ) -> tuple[Generator, Discriminator]:
        """``(G, D)`` for images ``[B,3,resolution,resolution]``; ``width`` scales every channel count;
        ``conv_kernels`` chooses the convolutions' kernels on the CPU (ganaudit.axes.fixed_conv)."""
        self.check(resolution, d_norm)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
            raise ConfigError(f"option 'arch.width': expected a number > 0, got {width!r}")
        if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
            raise ConfigError(f"option 'arch.z_dim': expected an integer >= 1, got {z_dim!r}")
        INITS.get(init)
        g, d = self.builder(resolution, d_norm, float(width), z_dim, init)
        return set_conv_kernels(g, conv_kernels), set_conv_kernels(d, conv_kernels)


ARCHS: Registry[Arch] = Registry("arch")
