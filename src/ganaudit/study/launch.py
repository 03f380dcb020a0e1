"""Hand batches of planned runs to an execution engine.

``HydraBatchLauncher`` instantiates the Hydra launcher configured for the running study app
(``hydra/launcher=local|joblib|submitit_local|slurm|...``) and calls its ``launch`` once per batch, as
Hydra's own sweepers do; each job receives two overrides (``study_job.plan``, ``study_job.key``) and
runs :func:`ganaudit.study.runner.hydra_task`. Why not a Hydra sweeper plugin: Hydra only loads
plugins from the ``hydra_plugins`` namespace package, and BO rounds need the results of one batch
before the next is planned, which this loop does in plain Python. It uses two Hydra internals that
are stable across hydra-core 1.3.x (pinned <1.4): ``Hydra.compose_config`` and ``Callbacks``.

``InlineLauncher`` runs the batch in this process without Hydra (library use and unit tests).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol, Sequence

from ganaudit.study.cluster import is_submitit_slurm, submit_and_wait
from ganaudit.study.runner import execute_entry, record_lost_job

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
        from hydra._internal.callbacks import Callbacks
        from hydra.core.global_hydra import GlobalHydra
        from hydra.core.hydra_config import HydraConfig
        from hydra.core.plugins import Plugins
        from hydra.types import HydraContext, RunMode
        from omegaconf import OmegaConf

        from ganaudit.study.runner import hydra_task

        hcfg = HydraConfig.get()
        overrides = [*OmegaConf.to_container(hcfg.overrides.hydra), *OmegaConf.to_container(hcfg.overrides.task)]
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None, "HydraBatchLauncher needs a running Hydra app"
        # the same full config (hydra node included) that `--multirun` would have composed
        self.master = hydra.compose_config(config_name=config_name, overrides=list(overrides),
                                           run_mode=RunMode.MULTIRUN, with_log_configuration=False)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=HydraContext(config_loader=hydra.config_loader, callbacks=Callbacks(self.master)),
            task_function=hydra_task, config=self.master)
        self.name = str(self.master.hydra.launcher.get("_target_", "?")).rsplit(".", 1)[-1]
        jobs = self.master.hydra.launcher.get("n_jobs") if "Joblib" in self.name else None
        # parallel processes on this machine (joblib's -1 = one per core)
        self.n_jobs = (int(jobs) if int(jobs) > 0 else os.cpu_count()) if jobs is not None else None
        self.next_idx = 0

    def launch(self, keys: Sequence[str], plan_path: Path) -> int:
        from hydra.core.utils import JobStatus

        if not keys:
            return 0
        jobs = [[f"study_job.plan={_quote(str(plan_path))}", f"study_job.key={_quote(k)}"] for k in keys]
        if is_submitit_slurm(self.launcher):   # waits for every array task, cancelled ones included
            returns = submit_and_wait(self.launcher, jobs, initial_job_idx=self.next_idx)
        else:
            returns = self.launcher.launch(jobs, initial_job_idx=self.next_idx)
        self.next_idx += len(jobs)
        lost = 0
        for key, ret in zip(keys, returns):
            if ret.status == JobStatus.FAILED:
                lost += 1
                log.error("job for run %s was lost by the launcher: %r", key, ret._return_value)
                record_lost_job(plan_path, key, str(ret._return_value))
        return lost
