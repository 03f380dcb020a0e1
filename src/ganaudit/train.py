"""Train one configuration of the study with Lightning; record the run in ``<run_dir>/result.json``.

    python -m ganaudit.train loss=ls penalty=wgan_gp penalty.weight=10 norm=spectral arch=sndcgan seed=3
    python -m ganaudit.train trainer=smoke arch.width=0.125          # a few D steps on the CPU

    from ganaudit.config import compose
    result = train(compose(["seed=3"]))   # dict, see docs/CONTRACTS.md §4

The run directory is ``<paths.runs>/<config_hash>-s<seed>``; rerunning the same configuration and
seed resumes from ``checkpoints/last.ckpt`` (loaded with ``weights_only=True``) and equals an
uninterrupted run bit for bit on the same machine. A run whose loss becomes NaN/inf stops with
``status: diverged`` and its D step; its last good checkpoint is kept. Lengths are in D steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any, Iterable

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

import ganaudit
from ganaudit.config import config_hash, run_dir, to_plain, validate
from ganaudit.errors import ConfigError
from ganaudit.hydra_app import hydra_app
from ganaudit.lit.callbacks import DStepCheckpoint, EvalCallback, read_eval_index
from ganaudit.lit.gan_module import GANModule
from ganaudit.metrics.provenance import summarize

__all__ = ["train", "code_version", "DEVICE_ENV"]

DEVICE_ENV = "GANAUDIT_DEVICE"  # overrides trainer.accelerator (cpu | gpu | cuda | auto)
FINISHED = ("ok", "diverged")


def code_version() -> str:
    """``<package version>+g<git sha>[.dirty]`` of the source tree, or the version alone."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{ganaudit.__version__}+g{sha}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return ganaudit.__version__


def _write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temporary file + os.replace)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _accelerator(cfg: DictConfig) -> str:
    """trainer.accelerator, overridden by $GANAUDIT_DEVICE ('cuda' means 'gpu')."""
    acc = os.environ.get(DEVICE_ENV) or str(cfg.trainer.accelerator)
    return "gpu" if acc == "cuda" else acc


def _prepare_determinism(cfg: DictConfig) -> None:
    """For deterministic GPU runs cuBLAS needs CUBLAS_WORKSPACE_CONFIG set before CUDA starts."""
    if cfg.trainer.deterministic and _accelerator(cfg) in ("gpu", "auto"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            warnings.warn("CUDA was initialized before ganaudit.train set CUBLAS_WORKSPACE_CONFIG; "
                          "cuBLAS results may not be deterministic", stacklevel=2)


def _datamodule(cfg: DictConfig) -> pl.LightningDataModule:
    from ganaudit.data.datamodule import GANDataModule

    data_dir = cfg.dataset.get("data_dir") or f"{cfg.paths.data}/{cfg.dataset.name}"
    return GANDataModule(cfg.dataset.name, data_dir, int(cfg.trainer.batch_size), int(cfg.seed),
                         num_workers=int(cfg.trainer.num_workers))


def _eval_callback(cfg: DictConfig, rdir: Path, context: dict, evaluate_fn: Any) -> EvalCallback | None:
    """The periodic-evaluation callback, or None when ``eval.enabled`` is false."""
    ev = cfg.get("eval") or {}
    if not ev.get("enabled", False):
        return None
    if evaluate_fn is None:
        try:
            from ganaudit.evaluate import evaluate_generator as evaluate_fn
        except ImportError as exc:
            raise ConfigError(f"option 'eval.enabled' = true but ganaudit.evaluate cannot be imported "
                              f"({exc}); expected eval.enabled=false until evaluation is installed") from None
    data_dir = cfg.dataset.get("data_dir") or f"{cfg.paths.data}/{cfg.dataset.name}"
    record = ev.get("record_path") or rdir / "evals.jsonl"
    kwargs = dict(dataset=str(cfg.dataset.name), protocol=str(ev.get("protocol", "auto")), data_dir=data_dir,
                  artifacts_dir=str(ev.get("artifacts_dir") or cfg.paths.artifacts), record_path=Path(record))
    return EvalCallback(int(ev.get("every", 20000)), evaluate_fn, kwargs, context, rdir / "evals_index.jsonl")


def _trainer(cfg: DictConfig, rdir: Path, callbacks: list[pl.Callback]) -> pl.Trainer:
    stop_at = cfg.trainer.stop_at
    max_steps = int(cfg.trainer.d_steps) if stop_at is None else min(int(stop_at), int(cfg.trainer.d_steps))
    return pl.Trainer(
        max_steps=max_steps,  # = D steps (see GANModule: G's optimizer does not count)
        max_epochs=-1,
        accelerator=_accelerator(cfg),
        devices=cfg.trainer.devices,
        precision=cfg.trainer.precision,
        deterministic=cfg.trainer.deterministic,
        benchmark=False,
        logger=pl.loggers.CSVLogger(str(rdir), name="logs"),
        callbacks=callbacks,
        enable_progress_bar=bool(cfg.trainer.progress_bar),
        enable_model_summary=False,
        log_every_n_steps=int(cfg.trainer.log_every),
        num_sanity_val_steps=0,
        limit_val_batches=0,
        use_distributed_sampler=False,
        default_root_dir=str(rdir),
    )


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
    ``ganaudit.evaluate.evaluate_generator``. ConfigError is raised before anything is trained or
    written; any later exception is recorded as ``status: failed`` with its reason.
    """
    t0 = time.time()
    validate(cfg)
    chash, seed, rdir = config_hash(cfg), int(cfg.seed), run_dir(cfg)
    ckpt_dir = rdir / "checkpoints"
    previous = _read_result(rdir)
    if cfg.trainer.resume and previous and previous.get("status") in FINISHED and \
            previous.get("d_steps_target") == int(cfg.trainer.d_steps) and cfg.trainer.stop_at is None:
        return previous  # already finished: nothing to do
    context = {"seed": seed, "config_hash": chash, "run_id": rdir.name}
    eval_cb = _eval_callback(cfg, rdir, context, evaluate_fn)
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    result: dict[str, Any] = {
        "status": "failed", "reason": None, "diverged_step": None, "d_steps": 0,
        "d_steps_target": int(cfg.trainer.d_steps), "seed": seed, "config_hash": chash,
        "config": to_plain(cfg), "evals": [], "fid_min": None, "fid_final": None,
        "run_dir": str(rdir), "code_version": code_version(),
    }
    module = None
    try:
        _prepare_determinism(cfg)
        if cfg.trainer.get("cpu_threads"):
            torch.set_num_threads(int(cfg.trainer.cpu_threads))  # avoids OpenMP oversubscription
        pl.seed_everything(seed, workers=True, verbose=False)
        module = GANModule.from_config(cfg)
        dm = datamodule if datamodule is not None else _datamodule(cfg)
        ckpt_cb = DStepCheckpoint(ckpt_dir, int(cfg.trainer.checkpoint_every), keep=str(cfg.trainer.get("keep", "all")))
        cbs = [ckpt_cb, *([eval_cb] if eval_cb else []), *callbacks]
        trainer = _trainer(cfg, rdir, cbs)
        last = ckpt_dir / "last.ckpt"
        ckpt_path = str(last) if cfg.trainer.resume and last.is_file() else None
        result["resumed_from"] = ckpt_path
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path, weights_only=True)
        result["device"] = str(trainer.strategy.root_device)
        _finish(result, module, cfg)
    except ConfigError:
        raise
    except Exception as exc:  # recorded, not lost: the last checkpoint stays resumable
        result["reason"] = f"{type(exc).__name__}: {exc}"
        if module is not None:
            result["d_steps"] = int(module.d_step)
    evals = read_eval_index(rdir / "evals_index.jsonl")
    result.update(evals=evals, **summarize(evals), wall_time_s=round(time.time() - t0, 3))
    _write_json(rdir / "result.json", result)
    return result


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


def _read_result(rdir: Path) -> dict | None:
    path = rdir / "result.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


@hydra_app("config")
def main(cfg: DictConfig) -> None:
    """``python -m ganaudit.train <overrides>``: train and print the result JSON."""
    print(json.dumps(train(cfg), indent=2, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
