"""Every use of hydra-submitit-launcher beyond its documented configuration, in one place.

Checked against hydra-submitit-launcher 1.2.0 with submitit 1.5.4 (pyproject pins the plugin
``>=1.2,<1.3``); ``tests/study/test_compat.py`` fails when one of these names disappears or changes.
The plugin's own ``launch`` waits on its jobs one after another and stops at the first one without a
result (see :mod:`ganaudit.study.cluster`), and offers no way to submit without waiting, so the study
submits the plugin's array itself, exactly as ``launch`` would:

* :func:`is_slurm_launcher`: the plugin's ``SlurmLauncher`` class;
* :func:`executor_for`: a submitit ``AutoExecutor`` configured from the launcher's ``params`` (the
  launcher configuration, an attribute set by its constructor) with the plugin's naming rule: the
  fields of its ``BaseQueueConf`` go to submitit as they are, every other field with the ``slurm_``
  prefix; ``max_num_timeout`` is an executor argument and ``submitit_folder`` its folder. Unset
  (None) SLURM-specific fields are left out so that submitit keeps its defaults;
* :func:`array_arguments`: the arguments of the launcher's ``__call__`` (``sweep_overrides``,
  ``job_dir_key``, ``job_num``, ``job_id``, ``singleton_state``) for each job of an array; the
  launcher object itself is the submitted callable, so that its ``checkpoint()`` requeues a preempted
  task.

submitit itself (``AutoExecutor``, ``update_parameters``, ``map_array``, ``Job.paths``,
``Job.results``) is used as documented.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Sequence

import submitit
from hydra.core.singleton import Singleton

__all__ = ["is_slurm_launcher", "executor_for", "array_arguments", "CALL_ARGUMENTS"]

#: the parameters of the plugin launcher's ``__call__``, in order
CALL_ARGUMENTS = ("sweep_overrides", "job_dir_key", "job_num", "job_id", "singleton_state")


def is_slurm_launcher(launcher: Any) -> bool:
    """Whether ``launcher`` is hydra-submitit-launcher's SLURM launcher."""
    # deferred: the plugin's undocumented module, held in this adapter so importing ganaudit does not fail when it moves
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

    return isinstance(launcher, SlurmLauncher)


def base_params() -> set[str]:
    """The fields submitit takes without the executor prefix: the plugin's ``BaseQueueConf``."""
    # deferred: the plugin's undocumented module, held in this adapter so importing ganaudit does not fail when it moves
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    return {f.name for f in fields(BaseQueueConf)} - {"submitit_folder"}


def executor_for(launcher: Any, cluster: str = "slurm") -> Any:
    """A submitit executor for ``cluster`` configured with the launcher's parameters."""
    params = dict(launcher.params)
    folder = params.pop("submitit_folder")
    max_timeout = params.pop("max_num_timeout", 0)
    base = base_params()
    params = {k: v for k, v in params.items() if v is not None or k in base}
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster, **{f"{cluster}_max_num_timeout": max_timeout})
    executor.update_parameters(**{k if k in base else f"{cluster}_{k}": v for k, v in params.items()})
    return executor


def array_arguments(job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[tuple]:
    """One argument tuple of the launcher's ``__call__`` per job (job numbers from ``initial_job_idx``)."""
    return [(list(ov), "hydra.sweep.dir", initial_job_idx + i, f"job_id_for_{initial_job_idx + i}",
             Singleton.get_state()) for i, ov in enumerate(job_overrides)]
