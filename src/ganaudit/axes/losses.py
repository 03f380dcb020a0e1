"""GAN losses of the Landscape study (spec §1), one registry entry per loss.

Every loss takes the discriminator's raw **logits** (pre-sigmoid) and returns all of its terms::

    terms = LOSSES.get("ns")(real_logits, fake_logits)   # real_logits [B] or None, fake_logits [B]
    terms.d        # d_real + d_fake: what D minimizes (the training loop adds a penalty to it)
    terms.g        # what G minimizes

Shapes: logits are ``[B]`` or ``[B, 1]`` (both accepted, flattened to ``[B]``); every term is a
0-dim tensor and an expectation is a batch mean (``tf.reduce_mean`` in the study's code).
``d_real`` is None when ``real_logits`` is None (the G step only needs fakes).

Notation below: ``l_r``/``l_f`` real/fake logits, ``σ`` the sigmoid, ``softplus(t) = log(1+e^t)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganaudit.utils.registry import Registry

__all__ = ["LOSSES", "LossTerms", "LossFn"]


@dataclass
class LossTerms:
    """The terms of one loss on one batch; every field is a 0-dim tensor (d_real may be None)."""

    d_real: Tensor | None
    d_fake: Tensor
    g: Tensor

    @property
    def d(self) -> Tensor:
        """The D loss ``d_real + d_fake``; ValueError when the real logits were not given."""
        if self.d_real is None:
            raise ValueError("LossTerms.d needs the real logits; this loss was called with real_logits=None")
        return self.d_real + self.d_fake


LossFn = Callable[[Tensor | None, Tensor], LossTerms]
LOSSES: Registry[LossFn] = Registry("loss")


def _flat(logits: Tensor, which: str) -> Tensor:
    """``[B]`` or ``[B, 1]`` -> ``[B]``; anything else is a programming error."""
    if logits.dim() == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.dim() != 1 or logits.shape[0] == 0:
        raise ValueError(f"{which} logits must have shape [B] or [B, 1] with B > 0, got {tuple(logits.shape)}")
    return logits


def _terms(
    real_logits: Tensor | None,
    fake_logits: Tensor,
    d_real: Callable[[Tensor], Tensor],
    d_fake: Callable[[Tensor], Tensor],
    g: Callable[[Tensor], Tensor],
) -> LossTerms:
    """Apply per-sample term functions and take batch means."""
    lf = _flat(fake_logits, "fake")
    dr = None if real_logits is None else d_real(_flat(real_logits, "real")).mean()
    return LossTerms(d_real=dr, d_fake=d_fake(lf).mean(), g=g(lf).mean())


@LOSSES.register("ns")
def non_saturating(real_logits: Tensor | None, fake_logits: Tensor) -> LossTerms:
    """NS loss (study default): D ``mean softplus(-l_r) + mean softplus(l_f)``, G ``mean softplus(-l_f)``.

    Equal to ``BCEWithLogits(l_r, 1) + BCEWithLogits(l_f, 0)`` and ``BCEWithLogits(l_f, 1)``, computed
    stably (spec §1 "NS").
    """
    return _terms(real_logits, fake_logits, lambda t: F.softplus(-t), F.softplus, lambda t: F.softplus(-t))


@LOSSES.register("mm")
def minimax(real_logits: Tensor | None, fake_logits: Tensor) -> LossTerms:
    """Minimax loss: D as NS; G ``-mean softplus(l_f) = mean log(1-σ(l_f))`` (= ``-d_fake``).

    Not used in the Landscape study (spec §1); kept for comparison.
    """
    return _terms(
        real_logits, fake_logits, lambda t: F.softplus(-t), F.softplus, lambda t: -F.softplus(t)
    )


@LOSSES.register("ls")
def least_squares(real_logits: Tensor | None, fake_logits: Tensor) -> LossTerms:
    """Least-squares loss on **sigmoid probabilities** with the code's 0.5 factors (spec §1 "LS").

    D ``0.5*mean((σ(l_r)-1)^2) + 0.5*mean(σ(l_f)^2)``; G ``0.5*mean((σ(l_f)-1)^2)``. Targets a=0, b=1, c=1.
    """
    return _terms(
        real_logits,
        fake_logits,
        lambda t: 0.5 * (torch.sigmoid(t) - 1.0).square(),
        lambda t: 0.5 * torch.sigmoid(t).square(),
        lambda t: 0.5 * (torch.sigmoid(t) - 1.0).square(),
    )


@LOSSES.register("wgan")
def wasserstein(real_logits: Tensor | None, fake_logits: Tensor) -> LossTerms:
    """WGAN loss on raw logits, no clipping: D ``-mean(l_r) + mean(l_f)``, G ``-mean(l_f)`` (spec §1)."""
    return _terms(real_logits, fake_logits, torch.neg, lambda t: t, torch.neg)


@LOSSES.register("hinge")
def hinge(real_logits: Tensor | None, fake_logits: Tensor) -> LossTerms:
    """Hinge loss ([V3] only; spec §1): D ``mean relu(1-l_r) + mean relu(1+l_f)``, G ``-mean(l_f)``."""
    return _terms(
        real_logits, fake_logits, lambda t: F.relu(1.0 - t), lambda t: F.relu(1.0 + t), torch.neg
    )
