"""Execute one planned run and append its record to the results store (the launcher's job body).

The study driver writes a *plan* (``<results>/plan.json``: the task, the store, and one entry per run
key) before each batch; a launcher job only receives the plan path and its run key, so the same job
body runs in-process (local launcher), in a joblib worker or on a SLURM node (submitit).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import traceback
from pathlib import Path
from typing import Any

from ganaudit.study.cluster import slurm_env
from ganaudit.study.devices import device_env, pin_device
from ganaudit.study.orphans import die_with_study
from ganaudit.study.store import FINISHED, ResultsStore, atomic_write_json
from ganaudit.study.tasks import STUDY_TASKS
from ganaudit.utils.determinism import MODE_ENV
from ganaudit.utils.errors import Interrupted

log = logging.getLogger(__name__)

#: the study's fields copied from a plan entry into its record (beside the CONTRACTS §4 result)
STUDY_FIELDS = ("study", "label", "axes", "setting", "hparams", "source", "overrides", "bo_group",
                "bo_round", "bo_trial")


def write_plan(path: Path, *, study: str, task: dict, store: Path, runs: dict[str, dict]) -> None:
    """Atomically (re)write the plan file: ``{"study", "task": {name, options}, "store", "runs"}``."""
    atomic_write_json(path, {"study": study, "task": task, "store": str(store), "runs": runs})


def read_plan(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def failed_result(entry: dict, exc: BaseException, wall: float) -> dict:
    """A CONTRACTS §4-shaped result for a run that raised: status ``failed`` with the reason."""
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}", "traceback": "".join(tb[-6:]),
            "diverged_step": None, "d_steps": None, "seed": entry["seed"],
            "config_hash": entry.get("config_hash"), "config": None, "evals": [], "fid_min": None,
            "fid_final": None, "wall_time_s": wall, "run_dir": None, "code_version": None}


def interrupted_result(entry: dict, exc: Interrupted, wall: float) -> dict:
    """The record of a run stopped by a signal: the run's own result when it wrote one (``exc.result``,
    see ``ganaudit.training.train``), else a ``failed``-shaped one; status ``interrupted`` either way."""
    own = getattr(exc, "result", None)
    if own:
        return dict(own)
    return {**failed_result(entry, exc, wall), "status": "interrupted",
            "reason": f"stopped by {exc.signame}; rerun the study to resume it"}


def execute_entry(plan_path: str | Path, key: str) -> dict:
    """Run the plan's entry ``key`` (unless already finished) and store its record; returns the record.

    Exceptions of the task become a ``failed`` record (retried by the next invocation of the study);
    the study itself goes on. A signal (:class:`Interrupted`) stores an ``interrupted`` record and is
    raised on, ending the study. ``study_wall_time_s`` is the job's whole time, overheads included.
    """
    t0 = time.perf_counter()
    plan = read_plan(plan_path)
    entry = plan["runs"][key]
    store = ResultsStore(plan["store"])
    previous = store.get(key)
    if previous is not None and previous.get("status") in FINISHED:
        return previous  # a requeued/duplicate job: the finished record stays as it is
    task = STUDY_TASKS.get(plan["task"]["name"])
    pin_device(plan["task"].get("options") or {})
    try:
        result = task.run(entry["overrides"], plan["task"].get("options") or {})
    except Interrupted as exc:
        store_record(store, entry, key, interrupted_result(entry, exc, time.perf_counter() - t0), t0)
        raise
    except Exception as exc:
        log.warning("run %s failed: %s", key, exc)
        result = failed_result(entry, exc, time.perf_counter() - t0)
    return store_record(store, entry, key, result, t0)


def store_record(store: ResultsStore, entry: dict, key: str, result: dict, t0: float) -> dict:
    """Put the run's ``result`` with the plan entry's study fields and the worker's details; returns it."""
    record: dict[str, Any] = {**result, **{f: entry.get(f) for f in STUDY_FIELDS}}
    record["key"] = key
    record["planned_config_hash"] = entry.get("config_hash")
    record["seed"] = entry["seed"]
    record["study_wall_time_s"] = time.perf_counter() - t0
    record["worker"] = {"host": socket.gethostname(), "pid": os.getpid(), **device_env(),
                        "determinism": os.environ.get(MODE_ENV)}  # the mode its process started in
    record["slurm"] = slurm_env()
    record["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store.put(record)
    log.info("run %s: %s (fid_min=%s)", key, record["status"], record.get("fid_min"))
    return record


def record_lost_job(plan_path: str | Path, key: str, reason: str) -> None:
    """Store a ``failed`` record for a job that ended without writing one (cancelled, killed, node lost),
    unless the run has a finished record; the next invocation of the study retries it."""
    plan = read_plan(plan_path)
    entry, store = plan["runs"][key], ResultsStore(plan["store"])
    previous = store.get(key)
    if previous is not None and previous.get("status") in FINISHED:
        return
    result = failed_result(entry, RuntimeError(reason), 0.0)
    result["reason"] = f"job lost: {reason}"
    store.put({**result, **{f: entry.get(f) for f in STUDY_FIELDS}, "key": key, "seed": entry["seed"],
               "planned_config_hash": entry.get("config_hash"), "slurm": lost_job_ids(reason),
               "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def lost_job_ids(reason: str) -> dict | None:
    """``{"job_id": ...}`` parsed from a lost-job message that names a SLURM job, else None."""
    m = re.search(r"SLURM job (\S+?)[: ]", reason)
    return {"job_id": m.group(1)} if m else None


def hydra_task(cfg: Any) -> str:
    """The task function handed to Hydra launchers: ``cfg.study_job.plan`` and ``cfg.study_job.key``."""
    die_with_study()  # a worker process of a killed study ends instead of training on
    record = execute_entry(cfg.study_job.plan, cfg.study_job.key)
    return str(record["status"])
