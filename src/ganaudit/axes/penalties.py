"""Discriminator penalties of the Landscape study (spec §2), one registry entry each.

    value = PENALTIES.get("wgan_gp")(PenaltyInputs(discriminator=D, real=x, fake=G(z).detach()))

Every penalty returns an unweighted 0-dim tensor; the training loop adds ``λ * value`` to the **D loss
only**. Gradient penalties differentiate the D **logits** (pre-sigmoid) with ``create_graph=True``, so
the penalty itself trains D. Randomness (GP's alpha, DRAGAN's noise) comes from torch's global RNG.
Images are in [0, 1], so gradient norms are in [0,1]-pixel units (spec §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ganaudit.axes.norms import raw_weight
from ganaudit.utils.registry import Registry

__all__ = ["PENALTIES", "PenaltyInputs", "PenaltyFn", "SLOPE_EPS", "gradient_slopes", "penalized_weights"]

SLOPE_EPS = 1e-4  # slopes = sqrt(1e-4 + sum g^2) in [V2] gans_with_penalty.py


@dataclass
class PenaltyInputs:
    """What a penalty needs: D (logits ``[B]`` from ``[B,3,H,W]`` in [0,1]), real and detached fake images."""

    discriminator: nn.Module
    real: Tensor  # [B, 3, H, W] in [0, 1]
    fake: Tensor  # [B, 3, H, W] in [0, 1], detached


PenaltyFn = Callable[[PenaltyInputs], Tensor]
PENALTIES: Registry[PenaltyFn] = Registry("penalty")


def gradient_slopes(discriminator: nn.Module, points: Tensor) -> Tensor:
    """``sqrt(1e-4 + ||d logit / d x||^2)`` per sample, ``[B]``, differentiable w.r.t. D's parameters.

    ``points``: ``[B, 3, H, W]``; D runs one forward pass on it (in its current mode).
    """
    x = points.detach().requires_grad_(True)
    logits = discriminator(x)  # [B]
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)  # [B, 3, H, W]
    return torch.sqrt(SLOPE_EPS + grad.square().flatten(1).sum(dim=1))


def _check_pair(inputs: PenaltyInputs) -> None:
    if inputs.real.shape != inputs.fake.shape:
        raise ValueError(
            f"penalty inputs: real {tuple(inputs.real.shape)} and fake {tuple(inputs.fake.shape)} differ in shape"
        )


@PENALTIES.register("none")
def no_penalty(inputs: PenaltyInputs) -> Tensor:
    """No penalty: a 0-dim zero on the real batch's device and dtype (D is not called)."""
    return inputs.real.new_zeros(())


@PENALTIES.register("wgan_gp")
def wgan_gp(inputs: PenaltyInputs) -> Tensor:
    """WGAN-GP (spec §2.1): ``mean_b (slope_b - 1)^2`` at ``x_hat = real + alpha (fake - real)``.

    ``alpha ~ U[0,1)`` has shape ``[B,1,1,1]`` (one per sample).
    """
    _check_pair(inputs)
    real, fake = inputs.real.detach(), inputs.fake.detach()
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = real + alpha * (fake - real)
    return (gradient_slopes(inputs.discriminator, x_hat) - 1.0).square().mean()


@PENALTIES.register("dragan")
def dragan(inputs: PenaltyInputs) -> Tensor:
    """DRAGAN as in the study (spec §2.2): ``mean_b (slope_b - 1)^2`` at perturbed real images.

    ``std`` is ONE scalar: the (biased, ``tf.nn.moments``) std over every element of the real batch;
    ``x_noisy = clip(real + std * (U[0,1) - 0.5), 0, 1)`` elementwise. ``fake`` is not used.
    """
    real = inputs.real.detach()
    std = real.var(unbiased=False).sqrt()  # scalar over [B, 3, H, W]
    noisy = (real + std * (torch.rand_like(real) - 0.5)).clamp(0.0, 1.0)
    return (gradient_slopes(inputs.discriminator, noisy) - 1.0).square().mean()


def penalized_weights(discriminator: nn.Module) -> list[Tensor]:
    """D's raw conv/linear weight tensors: ``D.penalized_weights()`` when D defines it, else every
    ``Conv2d``/``Linear`` weight in module order (biases and norm parameters excluded)."""
    method = getattr(discriminator, "penalized_weights", None)
    if callable(method):
        return list(method())
    return [raw_weight(m) for m in discriminator.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@PENALTIES.register("l2")
def l2(inputs: PenaltyInputs) -> Tensor:
    """L2 (spec §2.3): ``mean over D weight tensors W of sum(W^2) / 2`` on raw (un-SN) weights.

    A mean over layers, not a sum (8 tensors SNDCGAN, 19 ResNet19, 13 ResNet-CIFAR).
    """
    weights = penalized_weights(inputs.discriminator)
    if not weights:
        raise ValueError(f"penalty 'l2': {type(inputs.discriminator).__name__} has no conv/linear weights")
    return torch.stack([0.5 * w.square().sum() for w in weights]).mean()
