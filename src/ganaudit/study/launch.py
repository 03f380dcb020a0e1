"""Hand batches of planned runs to an execution engine.

``HydraBatchLauncher`` instantiates the Hydra launcher configured for the running study app
(``hydra/launcher=local|parallel|submitit_local|slurm|...``) through Hydra's plugin registry and calls
its ``launch`` once per batch, as Hydra's own sweepers do; each job receives two overrides
(``study_job.plan``, ``study_job.key``) and runs :func:`ganaudit.study.runner.hydra_task`. The loop
is plain Python rather than a Hydra sweeper plugin because BO rounds need the results of one batch
before the next is planned, and the study app runs once (Hydra's run mode) to print one summary and
one exit status. The two Hydra internals this needs (the multirun config of the running app, and
the callbacks object of a ``HydraContext``) live in :mod:`ganaudit.study.compat_hydra`.

``InlineLauncher`` runs the batch in this process without Hydra (library use and unit tests).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol, Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from omegaconf import OmegaConf

from ganaudit.study.cluster import submit_and_wait
from ganaudit.study.compat_hydra import compose_multirun_config, hydra_context, job_error
from ganaudit.study.compat_submitit import is_slurm_launcher
from ganaudit.study.runner import execute_entry, hydra_task, record_lost_job

log = logging.getLogger(__name__)


class BatchLauncher(Protocol):
    """Runs the plan entries ``keys`` of ``plan_path`` (each job stores its own record)."""

    def launch(self, keys: Sequence[str], plan_path: Path) -> int:
        """Run the jobs; return how many jobs failed *outside* the task (lost jobs, retried later)."""
        ...


class InlineLauncher:
    """Sequential, in-process execution without Hydra."""

    def launch(self, keys: Sequence[str], plan_path: Path) -> int:
        for key in keys:
            execute_entry(plan_path, key)
        return 0


def _quote(value: str) -> str:
    """A Hydra override value quoted so that any path survives the override grammar."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class HydraBatchLauncher:
    """The Hydra launcher of the running app, driven batch by batch (call inside ``@hydra.main``)."""

    def __init__(self, config_name: str = "run_study") -> None:
        hcfg = HydraConfig.get()
        self.task_overrides = list(OmegaConf.to_container(hcfg.overrides.task))
        overrides = [*OmegaConf.to_container(hcfg.overrides.hydra), *self.task_overrides]
        # the same full config (hydra node included) that `--multirun` would have composed
        self.master = compose_multirun_config(config_name, overrides)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context(self.master), task_function=hydra_task, config=self.master)
        self.name = str(self.master.hydra.launcher.get("_target_", "?")).rsplit(".", 1)[-1]
        jobs = self.master.hydra.launcher.get("n_jobs") if "Joblib" in self.name else None
        # parallel processes on this machine (joblib's -1 = one per core)
        self.n_jobs = (int(jobs) if int(jobs) > 0 else os.cpu_count()) if jobs is not None else None
        self.next_idx = 0

    def launch(self, keys: Sequence[str], plan_path: Path) -> int:
        if not keys:
            return 0
        # each job composes its config afresh from the hydra overrides and these: the command line's task
        # overrides first (as a sweeper passes them), so a job's .hydra/config.yaml and its output folder
        # name the study that was run, not the default study
        jobs = [[*self.task_overrides, f"study_job.plan={_quote(str(plan_path))}", f"study_job.key={_quote(k)}"]
                for k in keys]
        if is_slurm_launcher(self.launcher):   # waits for every array task, cancelled ones included
            returns = submit_and_wait(self.launcher, jobs, initial_job_idx=self.next_idx)
        else:
            returns = self.launcher.launch(jobs, initial_job_idx=self.next_idx)
        self.next_idx += len(jobs)
        lost = 0
        for key, ret in zip(keys, returns, strict=True):
            if ret.status == JobStatus.FAILED:
                lost += 1
                log.error("job for run %s was lost by the launcher: %r", key, job_error(ret))
                record_lost_job(plan_path, key, str(job_error(ret)))
        return lost
