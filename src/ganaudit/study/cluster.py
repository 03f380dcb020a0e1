"""SLURM side of a study: submit a batch as one submitit array, wait for every task, record lost jobs.

hydra-submitit-launcher's own ``launch`` waits on its jobs one after another with ``job.results()``,
which raises on the first job that ended without a result (``scancel``, node failure, out of memory)
and leaves the rest of the batch unwatched; it also learns job states from ``sacct``, which needs
SLURM accounting (absent on small clusters such as ``scripts/slurm-local``). :func:`submit_and_wait`
submits the same array with the plugin's parameters (the plugin-specific part is in
:mod:`ganaudit.study.compat_submitit`) and then watches all its tasks through the result files and
``squeue``; a task that leaves the queue without a result is reported as a failed
``JobReturn`` (the study records that run as ``failed`` and retries it on the next invocation).

Preemption and requeue: each array task runs the plugin's launcher object, whose ``checkpoint()``
returns a ``DelayedSubmission`` of the same call, so submitit requeues a preempted (or, with
``max_num_timeout`` > 0, timed-out) task as it is; a task requeued by SLURM itself (``scontrol
requeue``) reruns its command. Either way the run restarts from ``<run_dir>/checkpoints/last.ckpt``
(``trainer.resume``), which gives the same weights as an uninterrupted run.

:func:`slurm_env` is what a job records about where it ran (``SLURM_JOB_ID`` ... ``SLURMD_NODENAME``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from typing import Any, Sequence

from ganaudit.study.compat_hydra import failed_return
from ganaudit.study.compat_submitit import array_arguments, executor_for

log = logging.getLogger(__name__)

#: environment variables of a SLURM job copied into its run's record (key: lower-case name)
SLURM_VARS = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURMD_NODENAME",
              "SLURM_JOB_PARTITION", "SLURM_RESTART_COUNT")
#: squeue states of a task that may still produce a result
ACTIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                 "RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "STOPPED", "PREEMPTED"}


def slurm_env(environ: dict | None = None) -> dict | None:
    """``{"job_id", "array_job_id", "array_task_id", "node", "partition", "restart_count"}`` of the SLURM
    job this process runs in (values as strings, missing ones None), or None outside SLURM."""
    env = os.environ if environ is None else environ
    if not env.get("SLURM_JOB_ID"):
        return None
    names = {"SLURMD_NODENAME": "node", "SLURM_JOB_PARTITION": "partition"}
    return {names.get(v, v.lower().removeprefix("slurm_")): env.get(v) for v in SLURM_VARS}


def submit_and_wait(launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int,
                    poll_s: float = 1.0, max_poll_s: float = 15.0) -> list:
    """Submit ``job_overrides`` as one SLURM array through ``launcher`` (a submitit SlurmLauncher after
    ``setup``) and return one Hydra ``JobReturn`` per job, in order, once every task has ended."""
    executor = executor_for(launcher)
    jobs = executor.map_array(launcher, *zip(*array_arguments(job_overrides, initial_job_idx), strict=True))
    log.info("submitted SLURM array %s (%d tasks)", jobs[0].job_id.split("_")[0] if jobs else "-", len(jobs))
    returns: dict[int, Any] = {}
    gone_polls: dict[int, int] = {}
    last_state: dict[int, str] = {}
    wait = poll_s
    while len(returns) < len(jobs):
        states = queue_states([j.job_id for i, j in enumerate(jobs) if i not in returns])
        for i, job in enumerate(jobs):
            if i in returns:
                continue
            if states is not None and job.job_id in states:
                last_state[i] = states[job.job_id]
            if job.paths.result_pickle.exists():
                returns[i] = _result_of(job)
            elif states is not None and states.get(job.job_id) not in ACTIVE_STATES:
                gone_polls[i] = gone_polls.get(i, 0) + 1   # a short grace for the result file to appear
                if gone_polls[i] >= 3:
                    returns[i] = _lost(job, last_state.get(i))
        if len(returns) < len(jobs):
            time.sleep(wait)
            wait = min(max_poll_s, wait * 1.5)
    return [returns[i] for i in range(len(jobs))]


def queue_states(job_ids: Sequence[str]) -> dict[str, str] | None:
    """``{job id: state}`` of the listed jobs that squeue still shows (array tasks one per line), or None
    when squeue could not be asked (the caller then keeps waiting)."""
    if not job_ids:
        return {}
    arrays = sorted({j.split("_")[0] for j in job_ids})
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(arrays)], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("squeue failed (%s); still waiting", exc)
        return None
    if out.returncode != 0 and "Invalid job id" not in out.stderr:
        log.warning("squeue failed (%s); still waiting", out.stderr.strip())
        return None
    return dict(line.split(maxsplit=1) for line in out.stdout.splitlines() if " " in line)


def _result_of(job: Any):
    """The task's JobReturn from its result file; a failure inside submitit becomes a failed JobReturn."""
    try:
        return job.results()[0]
    except Exception as exc:
        return _failed_return(f"SLURM job {job.job_id}: {type(exc).__name__}: {str(exc)[-500:]}")


def _lost(job: Any, state: str | None):
    return _failed_return(f"SLURM job {job.job_id} left the queue without a result "
                          f"(last state seen {state or 'none'}; cancelled, killed, out of memory or node failure); "
                          f"its log: {job.paths.stderr}")


def _failed_return(message: str):
    return failed_return(RuntimeError(message))
