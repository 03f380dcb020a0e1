"""The FID Inception network (2015-12-05 graph; spec §6.1) as our own PyTorch module.

Layout and parameter names equal those of the published port ``pt_inception-2015-12-05-6726825d.pth``
(torch-hub naming; see ``tests/metrics/fixtures/inception_state_dict_keys.json``), so that file loads
with ``strict=True``. Input: images [B, 3, 299, 299] already preprocessed to [-1, 1)
(``tf_resize.tfgan_preprocess``). Output: (pool3 [B, 2048] float32, logits [B, 1008]).

Differences from the common ImageNet Inception-v3 that the 2015 graph carries (facts of the
published graph, also noted by its PyTorch port): the branch average pools of the 35x35, 17x17 and
first 8x8 blocks do not count padded zeros, and the last 8x8 block pools with a max instead of an
average. BatchNorm eps is 1e-3; convolutions have no bias.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganaudit.metrics import pins
from ganaudit.metrics.tf_resize import tfgan_preprocess
from ganaudit.metrics.weights import WeightsSpec, exact_float32, load_into, load_state, verify_weights

POOL3_DIM, N_LOGITS, INPUT_SIZE = 2048, 1008, 299


class ConvBN(nn.Module):
    """conv (no bias) -> BatchNorm(eps 1e-3) -> ReLU; parameters ``conv.*`` and ``bn.*``."""

    def __init__(self, c_in: int, c_out: int, kernel, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: torch.Tensor) -> torch.Tensor:  # 3x3/s1 average pool ignoring padded zeros
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class Block35(nn.Module):
    """35x35 block: 64 + 64 + 96 + ``pool_ch`` output channels."""

    def __init__(self, c_in: int, pool_ch: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBN(c_in, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = ConvBN(c_in, 48, 1), ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(c_in, pool_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch1x1(x)
        b = self.branch5x5_2(self.branch5x5_1(x))
        c = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([a, b, c, self.branch_pool(_avg3(x))], 1)


class Reduce35(nn.Module):
    """35x35 -> 17x17 reduction: 384 + 96 + c_in channels."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = ConvBN(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b, F.max_pool2d(x, 3, stride=2)], 1)


class Block17(nn.Module):
    """17x17 block with factorized 7x7 convolutions of width ``c7``: 4 x 192 channels."""

    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.branch1x1 = ConvBN(c_in, 192, 1)
        self.branch7x7_1 = ConvBN(c_in, c7, 1)
        self.branch7x7_2 = ConvBN(c7, c7, **row)
        self.branch7x7_3 = ConvBN(c7, 192, **col)
        self.branch7x7dbl_1 = ConvBN(c_in, c7, 1)
        self.branch7x7dbl_2 = ConvBN(c7, c7, **col)
        self.branch7x7dbl_3 = ConvBN(c7, c7, **row)
        self.branch7x7dbl_4 = ConvBN(c7, c7, **col)
        self.branch7x7dbl_5 = ConvBN(c7, 192, **row)
        self.branch_pool = ConvBN(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        c = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            c = layer(c)
        return torch.cat([self.branch1x1(x), b, c, self.branch_pool(_avg3(x))], 1)


class Reduce17(nn.Module):
    """17x17 -> 8x8 reduction: 320 + 192 + c_in channels."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = ConvBN(c_in, 192, 1), ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(c_in, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b = layer(b)
        return torch.cat([a, b, F.max_pool2d(x, 3, stride=2)], 1)


class Block8(nn.Module):
    """8x8 block: 320 + 768 + 768 + 192 = 2048 channels; ``max_pool`` selects the last block's pool."""

    def __init__(self, c_in: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = ConvBN(c_in, 320, 1)
        self.branch3x3_1 = ConvBN(c_in, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(c_in, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.branch3x3_1(x)
        b = torch.cat([self.branch3x3_2a(b), self.branch3x3_2b(b)], 1)
        c = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        c = torch.cat([self.branch3x3dbl_3a(c), self.branch3x3dbl_3b(c)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), b, c, self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """The 2015-12-05 Inception: x [B, 3, 299, 299] in [-1, 1) -> (pool3 [B, 2048], logits [B, 1008])."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = Block35(192, 32), Block35(256, 64), Block35(288, 64)
        self.Mixed_6a = Reduce35(288)
        self.Mixed_6b, self.Mixed_6c = Block17(768, 128), Block17(768, 160)
        self.Mixed_6d, self.Mixed_6e = Block17(768, 160), Block17(768, 192)
        self.Mixed_7a = Reduce17(768)
        self.Mixed_7b, self.Mixed_7c = Block8(1280, max_pool=False), Block8(2048, max_pool=True)
        self.fc = nn.Linear(POOL3_DIM, N_LOGITS)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # [B, 64, 147, 147]
        x = F.max_pool2d(x, 3, stride=2)  # [B, 64, 73, 73]
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)  # [B, 192, 35, 35]
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)  # ... -> [B, 2048, 8, 8]
        pool3 = x.mean(dim=(2, 3))  # [B, 2048]
        return pool3, self.fc(pool3)


# --- the extractor: TF-GAN preprocessing + network, with pinned weights -------------------------
INCEPTION_WEIGHTS = WeightsSpec(
    name="inception_2015_12_05",
    filename=pins.INCEPTION_FILENAME,
    sha256=pins.INCEPTION_SHA256,
    sha256_prefix=pins.INCEPTION_SHA256_PREFIX,
    how_to_get=f"`dvc repro weights/dvc.yaml:inception` (downloads {pins.INCEPTION_URL} into "
    "artifacts/weights/; or put that file there by hand)",
)


class InceptionExtractor(nn.Module):
    """images [B, 3, H, W] float in [0, 255] -> (pool3 [B, 2048], logits [B, 1008]), float32.

    TF-GAN preprocessing (TF1 bilinear resize to 299, then (x-128)/128) inside, then the network.
    """

    name = "inception_2015_12_05"
    num_features, num_logits = POOL3_DIM, N_LOGITS

    def __init__(self, net: FIDInception, weights_sha256: str, chunk: int = 16) -> None:
        super().__init__()
        self.net = net.eval()
        self.weights_sha256 = weights_sha256
        self.chunk = chunk  # images per network call: bounds activation memory (~0.3 GB at 16)

    @property
    def logits_bias(self) -> torch.Tensor:
        """The softmax layer's bias [1008]: ``logits - logits_bias`` = pool3 @ W^T (OpenAI's IS logits)."""
        return self.net.fc.bias.detach()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with exact_float32():
            outs = [self.net(tfgan_preprocess(images[i : i + self.chunk], INPUT_SIZE))
                    for i in range(0, len(images), self.chunk)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])



def load_inception(weights_dir: Path) -> InceptionExtractor:
    """The FID Inception with the published weights from ``weights_dir``; WeightsError if missing/wrong."""
    path = Path(weights_dir) / INCEPTION_WEIGHTS.filename
    digest = verify_weights(path, INCEPTION_WEIGHTS)
    net = FIDInception()
    load_into(net, load_state(path), path)
    return InceptionExtractor(net, digest)
