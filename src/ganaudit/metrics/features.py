"""Feature extractors: a registry, one entry per protocol family.

An extractor is an ``nn.Module`` taking float images [B, 3, H, W] in [0, 255] (fakes unquantized)
and returning ``(features [B, d] float32, logits [B, K] float32)``; it carries ``name``,
``weights_sha256`` (full hex digest of the loaded file, or a label for test extractors),
``num_features`` and ``num_logits``, and (for protocols with ``is_logits="without_bias"``)
``logits_bias`` [K], the last layer's bias. Factories take the weights directory. Pinned-weights
checks are ``ganaudit.metrics.weights``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from torch import nn

from ganaudit.metrics import digits_cnn, inception
from ganaudit.metrics.weights import exact_float32
from ganaudit.utils.registry import Registry

__all__ = ["EXTRACTORS", "exact_float32"]

EXTRACTORS: Registry[Callable[[Path], nn.Module]] = Registry("extractor")


@EXTRACTORS.register("inception_2015_12_05")
def _inception(weights_dir: Path) -> nn.Module:
    """The 2015-12-05 FID Inception (pool3 2048-d, logits 1008) with TF-GAN preprocessing."""
    return inception.load_inception(weights_dir)


@EXTRACTORS.register("digits_cnn")
def _digits_cnn(weights_dir: Path) -> nn.Module:
    """The digits demo classifier (features 64-d, logits 10)."""
    return digits_cnn.load_digits_cnn(weights_dir)
