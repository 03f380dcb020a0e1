"""SNDCGAN (spec §4.1; [V2] ``dcgan_architecture.sn_discriminator`` / ``sn_generator``).

Any square resolution R divisible by 8 (the study: 32 and 128). Channel counts below are at width 1.

D (8 weight layers; LeakyReLU slope 0.1; SN on all 8 when ``norm=spectral``; no BN/LN option)::

    x [B,3,R,R] in [0,1] -> 2x-1
    conv3x3/1 64 -> conv4x4/2 128 -> conv3x3/1 128 -> conv4x4/2 256 -> conv3x3/1 256
    -> conv4x4/2 512 -> conv3x3/1 512            [B,512,R/8,R/8]
    -> flatten -> linear -> logits [B]

G::

    z [B,128] -> linear (R/8)^2*512 -> BatchNorm1d over the FLAT output (eps 2e-5) -> ReLU
    -> reshape [B,512,R/8,R/8] -> 3 x (deconv4x4/2 -> BN(eps 2e-5) -> ReLU): 256,128,64 channels
    -> deconv3x3/1 3 -> tanh -> (out+1)/2  -> images [B,3,R,R] in [0,1]
"""

from __future__ import annotations

from torch import Tensor, nn

from ganaudit.axes.activations import LeakyReLU, ReLU, relu
from ganaudit.axes.archs.base import ARCHS, Arch, Discriminator, Generator, scaled
from ganaudit.axes.archs.init import init_layer
from ganaudit.axes.fixed_conv import Conv2d, ConvTranspose2d
from ganaudit.axes.norms import BN_MOMENTUM, NORMS, BatchNorm1d, BatchNorm2d

__all__ = ["SNDCGANDiscriminator", "SNDCGANGenerator", "G_BN_EPS", "LRELU_SLOPE"]

G_BN_EPS = 2e-5  # batch_norm_dcgan epsilon passed explicitly in sn_generator
LRELU_SLOPE = 0.1
# (out channels at width 1, kernel, stride) of the 7 D convs.
D_CONVS = ((64, 3, 1), (128, 4, 2), (128, 3, 1), (256, 4, 2), (256, 3, 1), (512, 4, 2), (512, 3, 1))


class SNDCGANDiscriminator(Discriminator):
    """SNDCGAN D: ``x [B,3,R,R]`` in [0,1] -> logits ``[B]``; ``d_norm`` in {none, spectral}."""

    def __init__(self, resolution: int, d_norm: str = "spectral", width: float = 1.0, init: str = "v2"):
        super().__init__()
        self.resolution = resolution
        norm = NORMS.get(d_norm)
        layers: list[nn.Module] = []
        c_in = 3
        for c, k, s in D_CONVS:
            c_out = scaled(c, width)
            conv = init_layer(Conv2d(c_in, c_out, k, stride=s, padding=1), "sn_conv", init)
            layers += [norm.wrap(conv), LeakyReLU(LRELU_SLOPE)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        side = resolution // 8
        self.linear = norm.wrap(init_layer(nn.Linear(c_in * side * side, 1), "linear", init))

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(2.0 * x - 1.0)  # [B, 512w, R/8, R/8]
        return self.linear(h.flatten(1))[:, 0]  # [B]


class SNDCGANGenerator(Generator):
    """SNDCGAN G: ``z [B, z_dim]`` -> images ``[B,3,R,R]`` in [0,1] (BN in every hidden layer)."""

    def __init__(self, resolution: int, width: float = 1.0, z_dim: int = 128, init: str = "v2"):
        super().__init__()
        self.resolution, self.z_dim = resolution, z_dim
        self.side = resolution // 8
        self.c0 = scaled(512, width)
        flat = self.c0 * self.side * self.side
        self.linear = init_layer(nn.Linear(z_dim, flat), "linear", init)
        self.bn0 = BatchNorm1d(flat, eps=G_BN_EPS, momentum=BN_MOMENTUM)  # per unit, not per channel
        blocks: list[nn.Module] = []
        c_in = self.c0
        for c in (256, 128, 64):
            c_out = scaled(c, width)
            deconv = init_layer(ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), "deconv", init)
            blocks += [deconv, BatchNorm2d(c_out, eps=G_BN_EPS, momentum=BN_MOMENTUM), ReLU()]
            c_in = c_out
        blocks.append(init_layer(ConvTranspose2d(c_in, 3, 3, stride=1, padding=1), "deconv", init))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: Tensor) -> Tensor:
        h = relu(self.bn0(self.linear(z)))  # [B, (R/8)^2 * 512w]
        h = h.view(z.shape[0], self.c0, self.side, self.side)  # [B, 512w, R/8, R/8]
        return (self.blocks(h).tanh() + 1.0) / 2.0  # [B, 3, R, R] in [0, 1]


def _build(resolution: int, d_norm: str, width: float, z_dim: int, init: str):
    g = SNDCGANGenerator(resolution, width=width, z_dim=z_dim, init=init)
    d = SNDCGANDiscriminator(resolution, d_norm=d_norm, width=width, init=init)
    return g, d


ARCHS.register("sndcgan")(
    Arch(
        name="sndcgan",
        d_norms=("none", "spectral"),
        resolution_ok=lambda r: r >= 8 and r % 8 == 0,
        resolutions_doc="positive multiples of 8 (the study used 32 and 128)",
        builder=_build,
        norm_reason=" (SNDCGAN's D supports only none/spectral, as in the study; spec §3)",
    )
)
