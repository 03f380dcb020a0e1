"""What one study run executes: the real training task, or a cheap stand-in (registry ``study_task``).

A task has two methods:
  * ``config_hash(overrides) -> str``: the run's identity without its seed (the store key is
    ``<config_hash>-s<seed>``);
  * ``run(overrides, options) -> dict``: the run's result in the CONTRACTS §4 shape (status, reason,
    diverged_step, d_steps, seed, config_hash, config, evals, fid_min, fid_final, wall_time_s, run_dir,
    code_version).

``train`` (default) calls ``ganaudit.training.train.train(ganaudit.training.config.compose(overrides))``.
``standin`` trains nothing: it returns a deterministic pseudo-FID computed from the overrides (a smooth
function of log lr, β1, n_dis plus seed noise), after ``sleep_s`` seconds. It exists so that the study
machinery (launchers, store, BO, kill/resume, audits) can be tested and dry-run without training; its
provenance says ``protocol: standin`` so its numbers are never mistaken for FIDs.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from ganaudit.training.config import compose, config_hash, validate
from ganaudit.utils.overrides import override_dict
from ganaudit.utils.registry import Registry

STUDY_TASKS: Registry = Registry("study_task")


@STUDY_TASKS.register("train")
class TrainTask:
    """The real run: compose the training config from the overrides and train it (CONTRACTS §4)."""

    @staticmethod
    def config_hash(overrides: Sequence[str]) -> str:
        cfg = compose(list(overrides))
        validate(cfg)  # a bad study file fails at planning time, before any training
        return config_hash(cfg)

    @staticmethod
    def run(overrides: Sequence[str], options: Mapping[str, Any]) -> dict:
        """``options.torch_threads``: intra-op threads of this job (e.g. 1 per joblib worker)."""
        # deferred: Lightning's import time, in the process that trains only (not the planner)
        from ganaudit.training.train import train

        if options.get("torch_threads"):
            torch.set_num_threads(int(options["torch_threads"]))
        return dict(train(compose(list(overrides))))


def _override_value(overrides: Sequence[str], key: str, default: Any = None) -> Any:
    return override_dict(overrides).get(key, default)


@STUDY_TASKS.register("standin")
class StandinTask:
    """A training stand-in for tests, benchmarks and dry runs (no model, no data; see module docstring).

    Options (``study_task.options``): ``sleep_s`` (float, default 0), ``diverge_lr`` (runs with
    lr >= this diverge; default 5e-3), ``fail_marker`` (path; while that file exists, runs whose key
    is listed in it, or all runs if it lists ``*``, raise RuntimeError), ``evals`` (checkpoints, default 3),
    ``d_steps`` (default 30).
    """

    @staticmethod
    def config_hash(overrides: Sequence[str]) -> str:
        semantic = sorted(o for o in overrides if not o.startswith("seed="))
        return hashlib.sha256("\n".join(semantic).encode()).hexdigest()[:16]

    @classmethod
    def run(cls, overrides: Sequence[str], options: Mapping[str, Any]) -> dict:
        t0 = time.perf_counter()
        seed = int(_override_value(overrides, "seed", 0))
        chash = cls.config_hash(overrides)
        key = f"{chash}-s{seed}"
        marker = options.get("fail_marker")
        if marker and Path(marker).exists() and {key, "*"} & set(Path(marker).read_text().split()):
            raise RuntimeError(f"stand-in failure requested for {key} by {marker}")
        time.sleep(float(options.get("sleep_s", 0.0)))
        lr = float(_override_value(overrides, "optim.lr", 2e-4))
        b1 = float(_override_value(overrides, "optim.beta1", 0.5))
        n_dis = int(_override_value(overrides, "optim.n_dis", 1))
        noise = int(hashlib.sha256(f"{chash}|{seed}".encode()).hexdigest()[:8], 16) / 2**32  # [0, 1)
        base = 30 + 12 * (math.log10(lr) + 3.6) ** 2 + 8 * b1 + (3 if n_dis == 5 else 0) + 4 * noise
        d_steps, n_evals = int(options.get("d_steps", 30)), int(options.get("evals", 3))
        steps = [round(d_steps * (i + 1) / n_evals) for i in range(n_evals)]
        diverged = lr >= float(options.get("diverge_lr", 5e-3))
        evals = [] if diverged else [
            {"step": s, "fid": base * (1 + 0.5 * (n_evals - 1 - i) / n_evals) + (0.7 if i == n_evals - 1 else 0),
             "is": None, "kid": None,
             "provenance": {"protocol": "standin", "note": "pseudo-FID of ganaudit.study.tasks.StandinTask"}}
            for i, s in enumerate(steps)]
        fids = [e["fid"] for e in evals]
        return {"status": "diverged" if diverged else "ok",
                "reason": "stand-in: lr >= diverge_lr" if diverged else None,
                "diverged_step": 1 if diverged else None, "d_steps": d_steps, "seed": seed,
                "config_hash": chash, "config": {"overrides": list(overrides)}, "evals": evals,
                "fid_min": min(fids) if fids else None, "fid_final": fids[-1] if fids else None,
                "wall_time_s": time.perf_counter() - t0, "run_dir": None, "code_version": "standin"}
