"""The study's training loop as a LightningModule with manual optimization (spec §5.1).

One ``training_step`` = one **D step** (the study's unit of training length):

1. a fresh real batch ``[B,3,R,R]`` in [0,1] and fresh ``z ~ U(-1,1)^[B,z_dim]`` (drawn on the CPU from
   torch's global RNG, so CPU and GPU runs see the same latents);
2. one D Adam step on ``d_real + d_fake + λ·penalty``; real and fake through D in separate passes;
3. if ``(d_step - 1) % n_dis == 0``: one G Adam step on the G loss with the **same z**, D and G in
   train mode.

Both Adam instances share lr / β1 / β2 and eps (1e-8) and the Adam implementation (``optim.impl``: ``tf1``,
the study's TF1 Adam, by default; see :mod:`ganaudit.axes.optim`). The G optimizer is stepped directly (not
through Lightning's optimizer wrapper), so that Lightning's ``global_step`` counts D steps only:
``Trainer(max_steps=d_steps)`` and step-based checkpoints then speak the study's unit. Consequently
only float32 is supported (no AMP scaler on the G step): ``trainer.precision`` is ``32-true``
(exact, TF32 off on CUDA) or ``tf32`` (see :mod:`ganaudit.training.precision`).

A non-finite loss stops training before any optimizer step is taken with it: ``self.divergence``
records the D step and reason, and :class:`ganaudit.training.lit.callbacks.DStepCheckpoint` saves nothing from
then on, so the last good checkpoint survives.

Checkpoints rebuild G on their own: the constructor arguments are Lightning's
``checkpoint["hyper_parameters"]``; ``checkpoint["ganaudit"]`` (plain values for ``weights_only=True``
loading) holds the D-step counter, every RNG state and the ``run_info`` given at construction (a training
run's ``config_hash``, ``seed`` and resolved ``config``; see ``ganaudit.metrics.checkpoints``). On resume the
RNG states are re-applied right before the first resumed D step, and the data module's stream is
moved to batch ``d_step``.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from ganaudit.axes.archs import ARCHS, sample_z
from ganaudit.axes.losses import LOSSES
from ganaudit.axes.optim import make_adam
from ganaudit.axes.penalties import PENALTIES
from ganaudit.training.lit.rng import capture_rng, restore_rng
from ganaudit.training.lit.steps import discriminator_loss, generator_loss, updates_generator

__all__ = ["GANModule", "CKPT_KEY"]

CKPT_KEY = "ganaudit"


class GANModule(pl.LightningModule):
    """G and D of one configuration plus the study's D/G update rule.

    Args: loss/penalty/norm/arch: registry names; penalty_weight: λ (ignored for ``none``);
    resolution: image side R; width: channel multiplier (1 = study); z_dim; init: ``v2``|``v3``;
    lr, beta1, beta2, eps: Adam (shared by both players); adam_impl: Adam's update rule (``tf1`` | ``torch``);
    n_dis: D steps per G step;
    log_every: D steps between logged losses; run_info: what a checkpoint records of the run (not a
    hyperparameter). A training run builds it from ``conf/lightning/default.yaml`` (``module:``) with
    ``hydra.utils.instantiate``, which is where every argument's value comes from.
    """

    def __init__(
        self,
        *,
        loss: str,
        penalty: str,
        penalty_weight: float,
        norm: str,
        arch: str,
        resolution: int,
        width: float,
        z_dim: int,
        init: str,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        adam_impl: str,
        n_dis: int,
        log_every: int,
        run_info: dict[str, Any] | None = None,
        conv_kernels: str = "aten",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["run_info"])  # -> checkpoint["hyper_parameters"]: G is rebuilt from these
        self.automatic_optimization = False
        self.generator, self.discriminator = ARCHS.get(arch).build(resolution, norm, width, z_dim, init,
                                                                   conv_kernels)
        self.loss_fn = LOSSES.get(loss)
        self.penalty_fn = None if penalty == "none" else PENALTIES.get(penalty)
        self.penalty_weight = float(penalty_weight)
        self.z_dim, self.n_dis, self.log_every = int(z_dim), int(n_dis), max(1, int(log_every))
        self.adam = dict(lr=float(lr), betas=(float(beta1), float(beta2)), eps=float(eps))
        self.adam_impl = str(adam_impl)
        self.d_step = 0  # D steps completed (saved in checkpoints)
        self.divergence: dict[str, Any] | None = None  # {"step": int, "reason": str} once diverged
        self._pending_rng: dict[str, Any] | None = None
        self._pending_losses: dict[str, float] | None = None  # a logging step's losses, until logged
        self.run_info: dict[str, Any] = dict(run_info or {})  # config_hash, seed, config: into every checkpoint

    # ------------------------------------------------------------------------------------ optim
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[Adam(D), Adam(G)] with the same lr, betas, eps and Adam implementation (spec §5.1)."""
        return [make_adam(self.adam_impl, self.discriminator.parameters(), **self.adam),
                make_adam(self.adam_impl, self.generator.parameters(), **self.adam)]

    # ------------------------------------------------------------------------------------- step
    def training_step(self, batch: Tensor | tuple | list, batch_idx: int) -> None:
        """One D step (+ one G step every n_dis D steps); ``batch`` float32 [B,3,R,R] in [0,1]."""
        if self._pending_rng is not None:  # resumed: continue every random stream exactly
            restore_rng(self._pending_rng)
            self._pending_rng = None
        real = batch[0] if isinstance(batch, (tuple, list)) else batch
        step = self.d_step + 1
        opt_d, opt_g = self.optimizers()
        z = sample_z(real.shape[0], self.z_dim).to(real.device)  # [B, z_dim] in [-1, 1]

        d_loss, parts = discriminator_loss(
            self.generator, self.discriminator, self.loss_fn, self.penalty_fn, self.penalty_weight, real, z
        )
        if not self._finite(d_loss, "D", step):
            return
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()

        g_loss = None
        if updates_generator(step, self.n_dis):
            self.discriminator.requires_grad_(False)  # no D grads in the G step (D still in train mode)
            try:
                g_loss = generator_loss(self.generator, self.discriminator, self.loss_fn, z)
                if not self._finite(g_loss, "G", step):
                    return
                opt_g.zero_grad(set_to_none=True)
                self.manual_backward(g_loss)
                opt_g.optimizer.step()  # raw step: Lightning's global_step keeps counting D steps
            finally:
                self.discriminator.requires_grad_(True)
        self.d_step = step
        if step % self.log_every == 0:
            self._pending_losses = self._loss_values(d_loss, parts, g_loss)

    def _finite(self, loss: Tensor, player: str, step: int) -> bool:
        """False (and training stops, recorded as diverged) if ``loss`` is NaN or inf."""
        value = float(loss.detach())
        if math.isfinite(value):
            return True
        self.mark_diverged(step, f"non-finite {player} loss ({value}) at D step {step}")
        return False

    def mark_diverged(self, step: int, reason: str) -> None:
        """Record divergence at D step ``step`` (first one wins) and ask the trainer to stop."""
        if self.divergence is None:
            self.divergence = {"step": int(step), "reason": reason}
        if self._trainer is not None:
            self.trainer.should_stop = True

    def _loss_values(self, d_loss: Tensor, parts: dict[str, Tensor], g_loss: Tensor | None) -> dict[str, float]:
        values = {"loss/d": d_loss.detach(), **{f"loss/{k}": v for k, v in parts.items()}}
        if g_loss is not None:
            values["loss/g"] = g_loss.detach()
        values = {k: float(v) for k, v in values.items()}
        values["d_step"] = float(self.d_step)
        return values

    def log_pending_losses(self) -> None:
        """Send the losses of the D step just trained (if it is a logging step) to every logger and
        write them out. Called at the end of each batch (after the evaluation callback, so a step's
        evaluation row comes first) and by the checkpoint callback before it saves: a checkpoint of
        D step N is on disk only once the log holds step N's row, so a run killed at any moment and
        resumed has every row exactly once (the resumed run logs again from the first step after its
        checkpoint and drops the rows from there on)."""
        values, self._pending_losses = self._pending_losses, None
        if values is None or self._trainer is None:
            return
        for logger in self.loggers:
            logger.log_metrics(values, step=int(values["d_step"]))
            logger.save()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.log_pending_losses()

    # ------------------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Add the D-step counter and RNG states as plain values (``weights_only=True`` safe)."""
        checkpoint[CKPT_KEY] = {"format": 1, "d_step": int(self.d_step), "rng": capture_rng(), **self.run_info}
        dm = self._datamodule()
        if dm is not None and dm.__class__.__qualname__ in checkpoint:
            # the fetcher reads ahead of training_step: the next batch to train on is batch d_step
            checkpoint[dm.__class__.__qualname__]["next_batch"] = int(self.d_step)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the D-step counter; RNG states are applied before the next D step."""
        extra = checkpoint.get(CKPT_KEY)
        if extra is None:
            raise KeyError(f"checkpoint has no '{CKPT_KEY}' entry: not written by ganaudit's GANModule")
        self.d_step = int(extra["d_step"])
        self._pending_rng = extra["rng"]

    def _datamodule(self) -> Any:
        trainer = self._trainer
        return None if trainer is None else getattr(trainer, "datamodule", None)
