"""ResNet19 (128x128) and ResNet-CIFAR (32x32) from spec §4.2-4.3 ([V2] ``resnet_architecture.py``).

Both share one pre-activation :class:`ResBlock` ([V2] ``resnet_block`` / ``get_conv``)::

    shortcut = conv3x3(scale(x))                 # ALWAYS a learned 3x3 conv with bias, no norm
    h = conv3x3_1(ReLU(N1(x)))                   # G: conv3x3_1(unpool(.)) when scale == "up"
    h = conv3x3_2(ReLU(N2(h)))                   # D: avgpool2(conv3x3_2(.)) when scale == "down"
    out = h + shortcut                           # shortcut resamples the same way

* ``unpool`` is zero-insertion (``y[..., ::2, ::2] = x``, zeros elsewhere), not nearest-neighbour.
* G blocks: N = BatchNorm2d(eps 1e-5). D blocks: N from ``norm`` (BN, LN or Identity); SN wraps
  every D conv (incl. shortcuts) and the final linear when ``norm=spectral``.
* D head: ReLU -> mean over (H, W) -> linear -> logits [B]. G tail: BN -> ReLU -> conv3x3 -> sigmoid.
* D sees images in [0, 1] as they are (no rescale; B0's norm + ReLU act on the raw image).
"""

from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ganaudit.axes.activations import relu
from ganaudit.axes.archs.base import ARCHS, Arch, Discriminator, Generator, scaled
from ganaudit.axes.archs.init import init_layer
from ganaudit.axes.fixed_conv import Conv2d
from ganaudit.axes.norms import NORMS, NormSpec

__all__ = ["unpool", "unpool_conv", "ResBlock", "ResNetGenerator", "ResNetDiscriminator"]

# Block plans at width 1: (in channels, out channels, scale).
RESNET19_G = ((512, 512, "up"), (512, 256, "up"), (256, 256, "up"), (256, 128, "up"), (128, 64, "up"))
RESNET19_D = (
    (3, 64, "down"), (64, 128, "down"), (128, 256, "down"),
    (256, 256, "down"), (256, 512, "down"), (512, 512, "down"),
)
CIFAR_G = ((256, 256, "up"), (256, 256, "up"), (256, 256, "up"))
CIFAR_D = ((3, 128, "down"), (128, 128, "down"), (128, 128, "none"), (128, 128, "none"))


def unpool(x: Tensor) -> Tensor:
    """Zero-insertion 2x upsampling: ``[B,C,H,W] -> [B,C,2H,2W]``, ``y[..., ::2, ::2] = x``, rest 0."""
    b, c, h, w = x.shape
    y = x.new_zeros(b, c, 2 * h, 2 * w)
    y[..., ::2, ::2] = x
    return y


def unpool_conv(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``conv3x3(unpool(x), padding=1)`` computed as a stride-2 transposed conv: ``[B,Ci,H,W] -> [B,Co,2H,2W]``.

    Exact identity: out[i] = sum_a W[a] unpool(x)[i+a-1] = sum_p x[p] W[2p-i+1], i.e. a transposed conv
    (stride 2, padding 1, output_padding 1) with the spatially flipped kernel. It skips the 3/4 of
    multiply-adds that the literal form spends on inserted zeros; equal up to float rounding.
    ``weight``: ``[Co, Ci, 3, 3]`` (a Conv2d weight).
    """
    kernel = weight.flip(2, 3).transpose(0, 1)  # [Ci, Co, 3, 3], the conv_transpose2d layout
    return F.conv_transpose2d(x, kernel, bias, stride=2, padding=1, output_padding=1)


class _Resample(nn.Module):
    """``conv3x3`` with the block's resampling: ``conv(unpool(x))`` (up) or ``avgpool2(conv(x))`` (down).

    ``literal_unpool=True`` materializes the zero-inserted tensor; the default computes the same value
    with :func:`unpool_conv`.
    """

    def __init__(self, conv: nn.Module, scale: str, literal_unpool: bool = False):
        super().__init__()
        if scale not in ("up", "down", "none"):
            raise ValueError(f"scale must be up/down/none, got {scale!r}")
        self.conv, self.scale, self.literal_unpool = conv, scale, literal_unpool

    def forward(self, x: Tensor) -> Tensor:
        if self.scale == "up":
            if self.literal_unpool:
                return self.conv(unpool(x))
            return unpool_conv(x, self.conv.weight, self.conv.bias)
        h = self.conv(x)
        return F.avg_pool2d(h, 2) if self.scale == "down" else h


class ResBlock(nn.Module):
    """Pre-activation ResNet block ``[B,c_in,H,W] -> [B,c_out,H',W']`` (H' = 2H up, H/2 down, H none).

    ``generator=True``: upsampling in conv1 and shortcut; ``False``: downsampling after conv2 and the
    shortcut conv. ``norm`` provides N1/N2 (feature_norm) and the conv wrapper (spectral norm).
    ``literal_unpool`` picks how ``conv(unpool(x))`` is computed (same value; see :func:`unpool_conv`).
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        scale: str,
        norm: NormSpec,
        generator: bool,
        init: str = "v2",
        literal_unpool: bool = False,
    ):
        super().__init__()

        def conv(ci: int, co: int) -> nn.Module:
            return norm.wrap(init_layer(Conv2d(ci, co, 3, padding=1), "conv", init))

        scale1, scale2 = (scale, "none") if generator else ("none", scale)
        self.shortcut = _Resample(conv(c_in, c_out), scale, literal_unpool)
        self.norm1 = norm.feature_norm(c_in)
        self.conv1 = _Resample(conv(c_in, c_out), scale1, literal_unpool)
        self.norm2 = norm.feature_norm(c_out)
        self.conv2 = _Resample(conv(c_out, c_out), scale2, literal_unpool)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(relu(self.norm1(x)))
        h = self.conv2(relu(self.norm2(h)))
        return h + self.shortcut(x)


def _blocks(plan: Sequence[tuple[int, int, str]], width: float, norm: NormSpec, generator: bool, init: str):
    """ResBlocks from a width-1 plan; every channel count scales with ``width`` except a D's RGB input."""
    blocks = []
    for i, (ci, co, scale) in enumerate(plan):
        c_in = 3 if (i == 0 and not generator) else scaled(ci, width)  # D's B0 reads the 3-channel image
        blocks.append(ResBlock(c_in, scaled(co, width), scale, norm, generator, init))
    return nn.Sequential(*blocks)


class ResNetGenerator(Generator):
    """ResNet G: ``z [B, z_dim] -> linear -> [B, C0, 4, 4] -> up blocks -> BN -> ReLU -> conv3x3 -> sigmoid``.

    Output images ``[B, 3, 4 * 2^len(plan), ...]`` in [0, 1]. G always uses BN (spec §3.2).
    """

    def __init__(self, plan, resolution: int, width: float = 1.0, z_dim: int = 128, init: str = "v2"):
        super().__init__()
        self.resolution, self.z_dim = resolution, z_dim
        self.c0 = scaled(plan[0][0], width)
        self.linear = init_layer(nn.Linear(z_dim, self.c0 * 4 * 4), "linear", init)  # no BN/act after
        batch = NORMS.get("batch")
        self.blocks = _blocks(plan, width, batch, generator=True, init=init)
        c_last = scaled(plan[-1][1], width)
        self.norm = batch.feature_norm(c_last)
        self.conv = init_layer(Conv2d(c_last, 3, 3, padding=1), "conv", init)

    def forward(self, z: Tensor) -> Tensor:
        h = self.linear(z).view(z.shape[0], self.c0, 4, 4)  # [B, C0, 4, 4]
        h = self.blocks(h)  # [B, C_last, R, R]
        return self.conv(relu(self.norm(h))).sigmoid()  # [B, 3, R, R] in [0, 1]


class ResNetDiscriminator(Discriminator):
    """ResNet D: ``x [B,3,R,R]`` in [0,1] -> blocks -> ReLU -> mean over (H,W) -> linear -> logits ``[B]``."""

    def __init__(self, plan, resolution: int, d_norm: str = "spectral", width: float = 1.0, init: str = "v2"):
        super().__init__()
        self.resolution = resolution
        norm = NORMS.get(d_norm)
        self.blocks = _blocks(plan, width, norm, generator=False, init=init)
        c_last = scaled(plan[-1][1], width)
        self.linear = norm.wrap(init_layer(nn.Linear(c_last, 1), "linear", init))

    def forward(self, x: Tensor) -> Tensor:
        h = relu(self.blocks(x)).mean(dim=(2, 3))  # [B, C_last]
        return self.linear(h)[:, 0]  # [B]


def _builder(g_plan, d_plan):
    def build(resolution: int, d_norm: str, width: float, z_dim: int, init: str):
        g = ResNetGenerator(g_plan, resolution, width=width, z_dim=z_dim, init=init)
        d = ResNetDiscriminator(d_plan, resolution, d_norm=d_norm, width=width, init=init)
        return g, d

    return build


_ALL_NORMS = tuple(NORMS.names())  # ResNet D takes every registered norm
ARCHS.register("resnet19")(
    Arch("resnet19", _ALL_NORMS, lambda r: r == 128, "128 only", _builder(RESNET19_G, RESNET19_D))
)
ARCHS.register("resnet_cifar")(
    Arch("resnet_cifar", _ALL_NORMS, lambda r: r == 32, "32 only", _builder(CIFAR_G, CIFAR_D))
)
