"""The study's D and G losses for one training step, as plain functions (spec §5.1, checklist §10.3-4).

    d_loss, parts = discriminator_loss(G, D, loss_fn, penalty_fn, weight, real, z)
    if updates_generator(d_step, n_dis):
        g_loss = generator_loss(G, D, loss_fn, z)      # the SAME z as the D step

Shapes: ``real`` [B,3,R,R] in [0,1]; ``z`` [B,z_dim] in [-1,1]; D returns logits [B]. Both G and D must
be in train mode (BN batch statistics, one SN power iteration per D call). The LightningModule
(:mod:`ganaudit.training.lit.gan_module`) adds the optimizer steps; tests call these functions directly.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from ganaudit.axes.losses import LossTerms
from ganaudit.axes.penalties import PenaltyInputs

__all__ = ["discriminator_loss", "generator_loss", "updates_generator", "plain_step"]

LossFn = Callable[[Tensor | None, Tensor], LossTerms]
PenaltyFn = Callable[[PenaltyInputs], Tensor]


def updates_generator(d_step: int, n_dis: int) -> bool:
    """True when D step ``d_step`` (1-based) is followed by a G step: ``(d_step - 1) % n_dis == 0``.

    So G is updated at D steps 1, 1+n_dis, 1+2*n_dis, ... ([V2] ``abstract_gan.train``).
    """
    if d_step < 1 or n_dis < 1:
        raise ValueError(f"updates_generator: need d_step >= 1 and n_dis >= 1, got {d_step}, {n_dis}")
    return (d_step - 1) % n_dis == 0


def discriminator_loss(
    generator: nn.Module,
    discriminator: nn.Module,
    loss_fn: LossFn,
    penalty_fn: PenaltyFn | None,
    weight: float,
    real: Tensor,
    z: Tensor,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The D loss ``d_real + d_fake + weight * penalty`` (0-dim) and its detached parts.

    Fakes come from G in train mode (its BN running statistics update, as in [V2]) without a graph
    to G (``fake.detach()``). Real and fake go through D in **separate** forward passes, so a D with
    batch norm normalizes each with its own batch statistics (spec §3.2). ``penalty_fn=None`` means no
    penalty (``penalty=none``; lambda ignored).
    """
    with torch.no_grad():
        fake = generator(z)  # [B,3,R,R] in [0,1]
    real_logits = discriminator(real)  # [B]
    fake_logits = discriminator(fake)  # [B]
    terms = loss_fn(real_logits, fake_logits)
    loss = terms.d
    parts = {"d_real": terms.d_real.detach(), "d_fake": terms.d_fake.detach()}
    if penalty_fn is not None:
        pen = penalty_fn(PenaltyInputs(discriminator=discriminator, real=real, fake=fake))
        loss = loss + weight * pen
        parts["penalty"] = pen.detach()
    return loss, parts


def generator_loss(generator: nn.Module, discriminator: nn.Module, loss_fn: LossFn, z: Tensor) -> Tensor:
    """The G loss (0-dim) on ``D(G(z))``; G and D in train mode; no penalty (spec §1)."""
    return loss_fn(None, discriminator(generator(z))).g


def plain_step(generator: nn.Module, discriminator: nn.Module, loss_fn: LossFn, penalty_fn: PenaltyFn | None,
               weight: float, real: Tensor, z: Tensor, opt_d: torch.optim.Optimizer,
               opt_g: torch.optim.Optimizer | None) -> tuple[Tensor, Tensor | None]:
    """One D update and, when ``opt_g`` is given, one G update on the same ``z``, in plain PyTorch
    (no Lightning, no finiteness check): the loop of the benchmarks and the bare-loop tests. D is
    frozen during the G backward, as in the LightningModule. Returns (d_loss, g_loss or None)."""
    d_loss, _ = discriminator_loss(generator, discriminator, loss_fn, penalty_fn, weight, real, z)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    if opt_g is None:
        return d_loss, None
    discriminator.requires_grad_(False)
    try:
        g_loss = generator_loss(generator, discriminator, loss_fn, z)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    finally:
        discriminator.requires_grad_(True)
    return d_loss, g_loss
