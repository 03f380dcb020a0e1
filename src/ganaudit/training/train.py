"""Train one configuration of the study with Lightning; record the run in ``<run_dir>/result.json``.

    python -m ganaudit.train loss=ls penalty=wgan_gp penalty.weight=10 norm=spectral arch=sndcgan seed=3
    python -m ganaudit.train trainer=smoke arch.width=0.125          # a few D steps on the CPU

    from ganaudit.training.config import compose
    result = train(compose(["seed=3"]))   # dict, see docs/CONTRACTS.md §4

The run directory is ``<paths.runs>/<config_hash>-s<seed>``; rerunning the same configuration and
seed resumes from ``checkpoints/last.ckpt`` (loaded with ``weights_only=True``) and equals an
uninterrupted run bit for bit on the same machine. A run whose loss becomes NaN/inf stops with
``status: diverged`` and its D step; its last good checkpoint is kept. Lengths are in D steps.

SIGTERM or SIGINT ends the run at the next D step boundary (a second signal: at once) with ``status:
interrupted``, the D step reached and the last checkpoint kept, then raises
:class:`ganaudit.utils.errors.Interrupted` (the command exits 143 / 130); rerunning resumes it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import warnings
from pathlib import Path
from typing import Any, Iterable

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities.exceptions import SIGTERMException

from ganaudit.metrics.grids import step_grid_writer
from ganaudit.metrics.provenance import summarize
from ganaudit.training.checks import DEVICE_ENV, preflight_train
from ganaudit.training.config import RUN_LOCK_HINT, config_hash, run_dir, to_plain, validate
from ganaudit.training.lit.callbacks import InterruptAtStep, read_eval_index
from ganaudit.training.lit.factory import build_callbacks, build_loggers
from ganaudit.training.lit.gan_module import GANModule
from ganaudit.training.lit.resume import resume_checkpoint
from ganaudit.training.precision import training_precision
from ganaudit.utils import determinism
from ganaudit.utils.errors import ConfigError, Interrupted
from ganaudit.utils.io import atomic_write_json
from ganaudit.utils.locks import exclusive
from ganaudit.utils.repo import code_version
from ganaudit.utils.signals import deferred, interruptible

__all__ = ["train", "code_version", "DEVICE_ENV"]

FINISHED = ("ok", "diverged")


def _accelerator(cfg: DictConfig) -> str:
    """trainer.accelerator, overridden by $GANAUDIT_DEVICE ('cuda' means 'gpu')."""
    acc = os.environ.get(DEVICE_ENV) or str(cfg.trainer.accelerator)
    return "gpu" if acc == "cuda" else acc


def _prepare_determinism(cfg: DictConfig) -> None:
    """For deterministic GPU runs cuBLAS needs CUBLAS_WORKSPACE_CONFIG set before CUDA starts."""
    if cfg.trainer.deterministic and _accelerator(cfg) in ("gpu", "auto"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            warnings.warn("CUDA was initialized before ganaudit.training.train set CUBLAS_WORKSPACE_CONFIG; "
                          "cuBLAS results may not be deterministic", stacklevel=2)


def _eval_callback(cfg: DictConfig, rdir: Path, context: dict, evaluate_fn: Any) -> dict | None:
    """Run-time arguments of the periodic-evaluation callback, or None when ``eval.enabled`` is false."""
    ev = cfg.eval
    if not ev.enabled:
        return None
    if evaluate_fn is None:
        try:  # deferred: metrics.evaluate loads only with eval.enabled; a failed import becomes a ConfigError
            from ganaudit.metrics.evaluate import evaluate_generator as evaluate_fn
        except ImportError as exc:
            raise ConfigError(f"option 'eval.enabled' = true but ganaudit.metrics.evaluate cannot be imported "
                              f"({exc}); expected eval.enabled=false until evaluation is installed") from None
    record = ev.record_path or rdir / "evals.jsonl"  # null: the run's own record
    kwargs = dict(dataset=str(cfg.dataset.name), protocol=str(ev.protocol), data_dir=str(cfg.dataset.data_dir),
                  artifacts_dir=str(ev.artifacts_dir), record_path=Path(record))
    return dict(evaluate_fn=evaluate_fn, eval_kwargs=kwargs, context=context, index_path=rdir / "evals_index.jsonl",
                grid_fn=step_grid_writer(rdir, kwargs["dataset"], kwargs["protocol"]))


def _quiet_lightning() -> None:
    """Keep a run's output to what it says about the run: drop Lightning's start-up tips and hardware
    lines, and a deprecation warning raised inside Lightning itself (nothing a user can act on)."""
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    # "Received SIGTERM": the run says itself that it was interrupted, and where (ganaudit.utils.signals)
    logging.getLogger("pytorch_lightning.trainer.connectors.signal_connector").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # On a machine with SLURM installed Lightning suggests srun; ganaudit's SLURM launcher runs each run
    # as its own job (hydra/launcher=slurm), so the hint does not apply.
    warnings.filterwarnings("ignore", message=r".*The `srun` command is available on your system.*")


def _trainer(cfg: DictConfig, rdir: Path, callbacks: list[pl.Callback]) -> pl.Trainer:
    """``lightning.trainer`` of ``cfg`` (conf/lightning/default.yaml) with the run's arguments."""
    _quiet_lightning()
    return instantiate(cfg.lightning.trainer, accelerator=_accelerator(cfg), default_root_dir=str(rdir),
                       logger=build_loggers(cfg, rdir) or False, callbacks=callbacks)


def train(
    cfg: DictConfig,
    *,
    datamodule: pl.LightningDataModule | None = None,
    callbacks: Iterable[pl.Callback] = (),
    evaluate_fn: Any = None,
) -> dict:
    """Train (or resume) the run of ``cfg``; return and write ``<run_dir>/result.json``.

    Keyword extras for programmatic use: ``datamodule`` replaces the dataset's GANDataModule (e.g.
    ``GANDataModule.from_arrays``), ``callbacks`` are added to Lightning's, ``evaluate_fn`` replaces
    ``ganaudit.metrics.evaluate.evaluate_generator``. ConfigError (options), OutputError (run directory not
    writable), DataError (dataset not prepared), CheckpointError (another run's or no readable
    checkpoint) and LockedError (another process is training the same run directory) are raised before
    anything is trained or written; any later exception is recorded as ``status: failed`` with its
    reason, a signal as ``status: interrupted`` (then :class:`Interrupted` is raised). A corrupt
    ``last.ckpt`` resumes from the newest intact one.
    """
    t0 = time.time()
    validate(cfg)
    settings = determinism.enforce(str(cfg.determinism))  # ConfigError if it cannot hold in this process
    rdir = run_dir(cfg)
    previous = _finished(cfg, rdir)
    if previous is not None:
        return previous  # already finished: nothing to do
    eval_cb = _eval_callback(cfg, rdir, {"seed": int(cfg.seed), "config_hash": config_hash(cfg), "run_id": rdir.name},
                             evaluate_fn)
    preflight_train(cfg, rdir, need_data=datamodule is None, check_protocol=evaluate_fn is None)
    with exclusive(rdir, what="run directory", hint=RUN_LOCK_HINT):
        return _train_locked(cfg, rdir, t0, settings, eval_cb, datamodule, callbacks)


def _train_locked(cfg: DictConfig, rdir: Path, t0: float, settings: dict, eval_cb: dict | None,
                  datamodule: pl.LightningDataModule | None, callbacks: Iterable[pl.Callback]) -> dict:
    """The body of :func:`train`, holding the run directory's lock."""
    chash, seed, ckpt_dir = config_hash(cfg), int(cfg.seed), rdir / "checkpoints"
    previous = _finished(cfg, rdir)  # again, under the lock: the run may have finished since
    if previous is not None:
        return previous
    resume_from = resume_checkpoint(ckpt_dir, chash, seed) if cfg.trainer.resume else None
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    result: dict[str, Any] = {
        "status": "failed", "reason": None, "diverged_step": None, "d_steps": 0,
        "d_steps_target": int(cfg.trainer.d_steps), "seed": seed, "config_hash": chash,
        "config": to_plain(cfg), "evals": [], "fid_min": None, "fid_final": None,
        "run_dir": str(rdir), "code_version": code_version(), "determinism": settings,
    }
    modules: list[GANModule] = []  # filled by _fit as soon as the module exists
    interrupted: Interrupted | None = None
    try:
        with interruptible():
            _fit(cfg, result, rdir, resume_from, eval_cb, datamodule, callbacks, modules)
    except ConfigError:
        raise
    except (Interrupted, SIGTERMException) as exc:  # SIGTERMException: Lightning's own, at a step boundary
        interrupted = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGTERM)
        _interrupted(result, modules, ckpt_dir, interrupted)
    except Exception as exc:  # recorded, not lost: the last checkpoint stays resumable
        result["reason"] = f"{type(exc).__name__}: {exc}"
        if modules:
            result["d_steps"] = int(modules[0].d_step)
    evals = read_eval_index(rdir / "evals_index.jsonl")
    result.update(evals=evals, **summarize(evals), wall_time_s=round(time.time() - t0, 3))
    atomic_write_json(rdir / "result.json", result)
    if interrupted is not None:
        stop = Interrupted(interrupted.signum, result["reason"])
        stop.result = result  # for the study's record
        raise stop from None
    return result


def _fit(cfg: DictConfig, result: dict, rdir: Path, resume_from: Path | None, eval_cb: dict | None,
         datamodule: pl.LightningDataModule | None, callbacks: Iterable[pl.Callback], modules: list) -> None:
    """Build the module, data and trainer and fit (signals deferred to a D step boundary); fills
    ``result``; ``modules`` receives the module as soon as it exists."""
    seed = int(cfg.seed)
    _prepare_determinism(cfg)
    if cfg.trainer.cpu_threads:
        torch.set_num_threads(int(cfg.trainer.cpu_threads))  # avoids OpenMP oversubscription
    pl.seed_everything(seed, workers=True, verbose=False)
    run_info = {"config_hash": config_hash(cfg), "seed": seed, "config": to_plain(cfg)}  # into every checkpoint
    # not recursive: run_info's config holds the _target_ nodes of the loggers and callbacks, as data
    module = instantiate(cfg.lightning.module, run_info=run_info, _convert_="all", _recursive_=False)
    modules.append(module)
    dm = datamodule if datamodule is not None else instantiate(cfg.lightning.datamodule)
    runtime = {"d_step_checkpoint": {"dirpath": rdir / "checkpoints"}, "eval": eval_cb}  # conf/callbacks/*.yaml
    cbs = [*build_callbacks(cfg, runtime), *callbacks, InterruptAtStep()]
    trainer = _trainer(cfg, rdir, cbs)
    ckpt_path = str(resume_from) if resume_from is not None else None
    result["resumed_from"] = ckpt_path
    with training_precision(str(cfg.trainer.precision)) as result["numerics"], deferred():
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path, weights_only=True)
    result["device"] = str(trainer.strategy.root_device)
    _finish(result, module, cfg)


def _interrupted(result: dict, modules: list, ckpt_dir: Path, exc: Interrupted) -> None:
    """Fill status / reason / steps of a run stopped by a signal."""
    step = int(modules[0].d_step) if modules else 0
    kept = sorted(ckpt_dir.glob("dstep-*.ckpt"))
    ckpt_step = int(kept[-1].stem.split("-")[1]) if kept else None
    where = f"its checkpoint at D step {ckpt_step} is kept" if ckpt_step is not None else "no checkpoint yet"
    result.update(status="interrupted", d_steps=step, checkpoint_step=ckpt_step,
                  reason=f"run '{result['run_dir']}' stopped by {exc.signame} at D step {step} of "
                         f"{result['d_steps_target']}; {where}: rerun the same command to resume")


def _finish(result: dict, module: GANModule, cfg: DictConfig) -> None:
    """Fill status / reason / steps after ``trainer.fit`` returned."""
    result["d_steps"] = int(module.d_step)
    if module.divergence is not None:
        result.update(status="diverged", reason=module.divergence["reason"],
                      diverged_step=module.divergence["step"])
    elif module.d_step >= int(cfg.trainer.d_steps):
        result.update(status="ok", reason=None)
    else:
        result.update(status="failed", reason=f"stopped at D step {module.d_step} of {cfg.trainer.d_steps} "
                      f"(trainer.stop_at={cfg.trainer.stop_at}); rerun the same command to resume")


def _finished(cfg: DictConfig, rdir: Path) -> dict | None:
    """The run's record when it already finished (ok or diverged) at this length and resuming is on."""
    previous = _read_result(rdir)
    if cfg.trainer.resume and previous and previous.get("status") in FINISHED and \
            previous.get("d_steps_target") == int(cfg.trainer.d_steps) and cfg.trainer.stop_at is None:
        return previous
    return None


def _read_result(rdir: Path) -> dict | None:
    path = rdir / "result.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


