"""Discriminator normalizations of the Landscape study (spec §3), one registry entry each.

A normalization is a :class:`NormSpec` with two hooks, used by the architectures:

* ``wrap(layer)``: applied to every D conv/linear layer (incl. ResNet shortcut convs and the final
  linear). Only ``spectral`` changes the layer (a spectral-norm parametrization).
* ``feature_norm(channels)``: the feature normalization placed before each ReLU of a ResNet D block
  (``batch`` -> BatchNorm2d, ``layer`` -> GroupNorm(1, C), otherwise Identity).

Facts (spec §3.1-3.3):

* SN: ``W_sn = W / σ(W)`` with **one** power iteration per forward call in train mode (u/v buffers
  updated in place), none in eval mode; eps 1e-12. [V2] starts from a random, un-iterated ``u``;
  ``torch.nn.utils.parametrizations.spectral_norm`` runs 15 warm-up iterations at construction.
  Default here (registry entry ``spectral`` = ``SpectralNormSpec(warmup=False)``): re-draw the vectors
  after wrapping, so the first forward's σ is the one-iteration estimate that [V2] computes.
  ``SpectralNormSpec("spectral", warmup=True)`` keeps PyTorch's warm-up.
* BN: ``BatchNorm2d(C, eps=1e-5, momentum=0.1)`` (TF decay 0.9). Like ``tf.contrib.layers.batch_norm``
  (spec §3.2), the running variance is updated with the **biased** batch variance (PyTorch's own
  BatchNorm uses the unbiased one); this matters only for eval-mode G, i.e. for FID samples.
* LN: per sample over (C, H, W) jointly, per-channel affine, eps 1e-12 = ``GroupNorm(1, C, eps=1e-12)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ganaudit.utils.registry import Registry

__all__ = [
    "NORMS",
    "NormSpec",
    "BatchNorm1d",
    "BatchNorm2d",
    "SpectralNormSpec",
    "raw_weight",
    "BN_EPS",
    "BN_MOMENTUM",
    "LN_EPS",
    "SN_EPS",
]

BN_EPS = 1e-5  # tf.contrib.layers.batch_norm epsilon in batch_norm_resnet
BN_MOMENTUM = 0.1  # = 1 - TF decay 0.9
LN_EPS = 1e-12  # tf.contrib.layers.layer_norm
SN_EPS = 1e-12  # l2n epsilon in [V2] ops.spectral_norm

Layer = nn.Conv2d | nn.Linear | nn.ConvTranspose2d


class _BiasedRunningVar:
    """BatchNorm whose running variance follows the biased batch variance, as TF's batch_norm.

    Train mode: normalize with batch statistics (as PyTorch does) and update
    ``running = (1 - momentum) * running + momentum * batch`` with ``batch`` = the mean and the
    *biased* variance over every axis but the channel one. Eval mode: the running statistics.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and self.track_running_stats) or self.momentum is None:
            return super().forward(x)
        self._check_input_dim(x)
        out = F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        with torch.no_grad():
            dims = [0, *range(2, x.dim())]  # all but channels: [B] or [B, H, W]
            var, mean = torch.var_mean(x, dim=dims, unbiased=False)
            self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
            self.running_var.lerp_(var.to(self.running_var.dtype), self.momentum)
            self.num_batches_tracked.add_(1)
        return out


class BatchNorm2d(_BiasedRunningVar, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over ``[B, C, H, W]`` with TF's biased running variance."""


class BatchNorm1d(_BiasedRunningVar, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over ``[B, C]`` with TF's biased running variance."""


@dataclass(frozen=True)
class NormSpec:
    """A D normalization: ``wrap`` a weight layer and make a ``feature_norm`` for C channels."""

    name: str

    def wrap(self, layer: Layer) -> nn.Module:
        """Return the layer to use in D (unchanged for every norm but spectral)."""
        return layer

    def feature_norm(self, channels: int) -> nn.Module:
        """Feature norm over ``[B, C, H, W]`` activations (Identity unless batch/layer)."""
        return nn.Identity()


@dataclass(frozen=True)
class BatchNormSpec(NormSpec):
    def feature_norm(self, channels: int) -> nn.Module:
        """``BatchNorm2d(C, eps=1e-5, momentum=0.1)``, gamma 1 beta 0; batch stats in train mode."""
        return BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


@dataclass(frozen=True)
class LayerNormSpec(NormSpec):
    def feature_norm(self, channels: int) -> nn.Module:
        """``GroupNorm(1, C, eps=1e-12)``: normalize each sample over (C,H,W); per-channel gamma/beta."""
        return nn.GroupNorm(1, channels, eps=LN_EPS)


@dataclass(frozen=True)
class SpectralNormSpec(NormSpec):
    """Spectral norm; ``warmup=False`` (default, [V2]) starts from random, un-iterated u/v vectors."""

    warmup: bool = False

    def wrap(self, layer: Layer) -> nn.Module:
        """Add an SN parametrization to ``layer.weight`` (1 power iteration per train-mode forward).

        Draws the random start vectors from torch's global RNG (seeded by the training seed).
        """
        if isinstance(layer, nn.ConvTranspose2d):
            raise TypeError("spectral norm is applied only to D conv/linear layers, not to deconvs")
        layer = spectral_norm(layer, name="weight", n_power_iterations=1, eps=SN_EPS)
        if not self.warmup:
            sn = layer.parametrizations.weight[0]
            with torch.no_grad():
                # [V2]: a random start vector, no iteration before the first forward. PyTorch's v is
                # [V2]'s persistent u (the input side); u is recomputed from v by every iteration, so
                # setting u = l2n(W v) changes no train-mode value. It makes eval-mode use before any
                # train forward see sigma = ||W v|| > 0 instead of a random-sign u^T W v.
                w_mat = sn._reshape_weight_to_matrix(layer.parametrizations.weight.original)
                sn._v.copy_(F.normalize(torch.randn_like(sn._v), dim=0, eps=SN_EPS))
                sn._u.copy_(F.normalize(w_mat @ sn._v, dim=0, eps=SN_EPS))
        return layer


NORMS: Registry[NormSpec] = Registry("norm")
NORMS.register("none")(NormSpec("none"))
NORMS.register("batch")(BatchNormSpec("batch"))
NORMS.register("layer")(LayerNormSpec("layer"))
NORMS.register("spectral")(SpectralNormSpec("spectral"))


def raw_weight(layer: nn.Module) -> Tensor:
    """The layer's un-normalized weight parameter (the SN ``original`` when parametrized).

    Shapes: conv ``[C_out, C_in, KH, KW]``, linear ``[out, in]``. Used by the L2 penalty (spec §2.3).
    """
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    weight = getattr(layer, "weight", None)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{type(layer).__name__} has no weight tensor")
    return weight
