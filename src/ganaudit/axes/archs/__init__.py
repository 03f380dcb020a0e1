"""Architectures of the Landscape study (spec §4): ``ARCHS`` names ``sndcgan``, ``resnet19``, ``resnet_cifar``.

    arch = ARCHS.get("resnet19")
    arch.check(resolution=128, d_norm="layer")            # ConfigError if unsupported
    G, D = arch.build(128, "layer", width=1.0, z_dim=128, init="v2")
    G(z [B, z_dim]) -> images [B, 3, R, R] in [0, 1];  D(images) -> logits [B]
    D.penalized_weights() -> raw conv/linear weights (8 / 19 / 13 tensors at any width)
    sample_z(n, z_dim, generator) -> U(-1, 1) latents [n, z_dim]
"""

from ganaudit.axes.archs import resnet as _resnet  # noqa: F401  (registers "resnet19", "resnet_cifar")
from ganaudit.axes.archs import sndcgan as _sndcgan  # noqa: F401  (registers "sndcgan")
from ganaudit.axes.archs.base import ARCHS, Z_DIM, Arch, Discriminator, Generator, sample_z, scaled
from ganaudit.axes.archs.init import INITS, init_layer
from ganaudit.axes.archs.resnet import ResBlock, unpool

__all__ = [
    "ARCHS", "Arch", "Discriminator", "Generator", "INITS", "ResBlock", "Z_DIM",
    "init_layer", "sample_z", "scaled", "unpool",
]
