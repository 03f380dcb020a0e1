"""Lightning callbacks of the training core: D-step checkpoints that never save a diverged state, and
periodic evaluation of G (spec §5.1 checkpoints, §6.2 evaluation frequency).

Both count in D steps: the GANModule steps G's optimizer outside Lightning's wrapper, so
``trainer.global_step`` equals the number of D steps.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Checkpoint
from pytorch_lightning.trainer.states import TrainerFn

from ganaudit.training.lit.loggers import log_eval_metrics
from ganaudit.training.lit.rng import capture_rng, restore_rng
from ganaudit.utils.signals import raise_pending

__all__ = ["DStepCheckpoint", "EvalCallback", "InterruptAtStep", "read_eval_index", "all_finite"]


class InterruptAtStep(pl.Callback):
    """Stop at a D step boundary after SIGINT/SIGTERM (``ganaudit.utils.signals``, deferred during fit):
    raises the pending :class:`~ganaudit.utils.errors.Interrupted` before the next step starts, so every
    callback of the last step (checkpoint, evaluation) has finished. (On SIGTERM Lightning also stops
    by itself at the end of the step, with its ``SIGTERMException``.)"""

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        raise_pending()


def all_finite(module: torch.nn.Module) -> bool:
    """True if every floating parameter and buffer of ``module`` is finite (no NaN/inf)."""
    tensors = list(module.parameters()) + list(module.buffers())
    return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())


class DStepCheckpoint(Checkpoint):
    """Save ``dstep-XXXXXXX.ckpt`` every ``every`` D steps and at the end of fit, plus ``last.ckpt``.

    Nothing is saved once the module has diverged (``pl_module.divergence``) or when any weight or
    buffer is non-finite (that marks the module diverged), so ``last.ckpt`` is the last good state.
    ``keep="all"`` keeps every numbered checkpoint (the study evaluates them all); ``keep="last"``
    keeps only ``last.ckpt``.

    Written with Lightning's public checkpoint API only: a :class:`~pytorch_lightning.callbacks.Checkpoint`
    (so the Trainer treats it as the run's checkpointing callback, runs it after the other callbacks and
    adds no default ``ModelCheckpoint``) that calls ``trainer.save_checkpoint``. Step 0 (nothing trained)
    and a step already saved are not saved again; neither is anything outside ``fit``.
    """

    FILENAME = "dstep-{step:07d}.ckpt"
    LAST = "last.ckpt"

    def __init__(self, dirpath: str | Path, every: int, keep: str = "all") -> None:
        if keep not in ("all", "last"):
            raise ValueError(f"keep must be 'all' or 'last', got {keep!r}")
        if int(every) < 1:
            raise ValueError(f"every must be >= 1 (D steps), got {every!r}")
        self.dirpath, self.every, self.keep = Path(dirpath), int(every), keep
        self.last_saved_step = 0  # no checkpoint before the first D step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_step % self.every == 0:
            self._save_if_good(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        """Save the final (or preempted) state unless diverged."""
        self._save_if_good(trainer, pl_module)

    def _skip(self, trainer: pl.Trainer) -> bool:
        return (bool(trainer.fast_dev_run) or trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING
                or self.last_saved_step == trainer.global_step)

    def _save_if_good(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if getattr(pl_module, "divergence", None) is not None or self._skip(trainer):
            return
        if not all_finite(pl_module):
            step = int(getattr(pl_module, "d_step", trainer.global_step))
            pl_module.mark_diverged(step, f"non-finite weights or buffers after D step {step}")
            return
        step = int(trainer.global_step)
        if hasattr(pl_module, "log_pending_losses"):
            pl_module.log_pending_losses()  # the log holds this step's row before its checkpoint exists
        if self.keep == "all":
            trainer.save_checkpoint(str(self.dirpath / self.FILENAME.format(step=step)), weights_only=False)
        trainer.save_checkpoint(str(self.dirpath / self.LAST), weights_only=False)  # full state: resumable
        self.last_saved_step = step


def read_eval_index(path: Path) -> list[dict]:
    """Evaluation summaries from ``evals_index.jsonl``, one per D step (a later line for the same
    step, e.g. after a resume, replaces the earlier one), sorted by step."""
    if not path.is_file():
        return []
    by_step: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            by_step[int(rec["step"])] = rec
    return [by_step[s] for s in sorted(by_step)]


class EvalCallback(pl.Callback):
    """Evaluate G at D step 0 (a fresh run), every ``every`` D steps and at the end of training (as
    [V2] evaluates its step-0, periodic and final checkpoints); never after divergence.

    ``evaluate_fn`` is :func:`ganaudit.metrics.evaluate.evaluate_generator` (injected, so tests can pass a
    cheap one); it receives ``generator=pl_module.generator`` and ``**eval_kwargs`` plus
    ``context={**context, "step": d_step}``. Each returned record is summarized (step, fid, is, kid,
    ms_ssim, provenance) as one line of ``index_path``, and its numbers go to the trainer's loggers
    (``eval/fid``, ... at step = D step; ``ganaudit.training.lit.loggers``). ``grid_fn(generator, step)``, if given,
    then writes that step's sample grid (``ganaudit.metrics.grids``). Every RNG stream is saved before and restored
    after evaluation, so evaluating never changes the training trajectory.
    """

    def __init__(
        self,
        every: int,
        evaluate_fn: Callable[..., dict],
        eval_kwargs: dict[str, Any],
        context: dict[str, Any],
        index_path: Path,
        grid_fn: Callable[[torch.nn.Module, int], Any] | None = None,
    ) -> None:
        self.every, self.evaluate_fn, self.grid_fn = int(every), evaluate_fn, grid_fn
        self.eval_kwargs, self.context, self.index_path = eval_kwargs, context, Path(index_path)

    def on_train_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if int(pl_module.d_step) == 0:
            self._evaluate(pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_step % self.every == 0:
            self._evaluate(pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._evaluate(pl_module)

    def _evaluate(self, pl_module: Any) -> None:
        step = int(pl_module.d_step)
        done = {r["step"] for r in read_eval_index(self.index_path)}
        if pl_module.divergence is not None or step in done:
            return
        rng = capture_rng()
        try:
            record = self.evaluate_fn(
                pl_module.generator, **self.eval_kwargs, context={**self.context, "step": step}
            )
            if self.grid_fn is not None:
                self.grid_fn(pl_module.generator, step)
        finally:
            restore_rng(rng)
        summary = {"step": step, **{k: record.get(k) for k in ("fid", "is", "kid", "ms_ssim") if k in record}}
        summary["provenance"] = record.get("provenance", {})
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.index_path, "a") as fh:
            fh.write(json.dumps(summary, sort_keys=True, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        log_eval_metrics(pl_module.loggers, summary, step)  # the attached trainer's loggers ([] without one)
