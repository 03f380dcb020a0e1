"""Run a study from a composed ``run_study`` config (``conf/run_study.yaml``): expand it, hand each batch of
runs to a launcher, return the summary.

    summary = run_from_config(compose(["study=demo"], config_name="run_study"), launcher=HydraBatchLauncher())

``ganaudit study`` (ganaudit.cli.study) is the command line around it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from omegaconf import DictConfig

from ganaudit.study.driver import StudyDriver, StudyProgress
from ganaudit.study.orphans import mark_study_process
from ganaudit.study.preflight import preflight_study
from ganaudit.study.spec import StudySpec

__all__ = ["run_from_config", "task_options"]

log = logging.getLogger("ganaudit.study")


def task_options(cfg: DictConfig, launcher) -> dict:
    """``study_task.options`` updated by the study file's ``task_options`` (non-null values); with a
    process-parallel launcher, torch threads default to cores / jobs."""
    options = dict(cfg.study_task.options or {})
    options.update({k: v for k, v in dict((cfg.get("study") or {}).get("task_options") or {}).items() if v is not None})
    n_jobs = getattr(launcher, "n_jobs", None)
    if options.get("torch_threads") is None and n_jobs:
        options["torch_threads"] = max(1, (os.cpu_count() or 1) // n_jobs)
    if n_jobs:
        options.setdefault("pin_gpus", True)   # one GPU per worker process (ganaudit.study.devices)
    return options


def run_from_config(cfg: DictConfig, launcher=None) -> dict:
    """Run the study described by a composed ``run_study`` config; returns the summary dict."""
    spec = StudySpec.from_run_config(cfg)  # every run trains in the study's mode (its workers inherit the env)
    results = Path(str(cfg.results_dir)).resolve()
    preflight_study(spec, results, str(cfg.study_task.name))  # before anything is planned or launched
    mark_study_process()  # launcher workers started from here die with this process
    with StudyProgress(f"study {spec.name}") as progress:
        driver = StudyDriver(spec, results, task=str(cfg.study_task.name),
                             task_options=task_options(cfg, launcher), launcher=launcher,
                             batch_size=int(cfg.launch.batch_size), progress=progress)
        summary = driver.run()
    log.info("study %s: %s", spec.name, json.dumps(summary))
    return summary
