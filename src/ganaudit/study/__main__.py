"""``python -m ganaudit.study study=<name> [hydra/launcher=local|joblib|submitit_local|slurm] [...]``.

The primary config is ``conf/run_study.yaml``. The app runs once (Hydra "run" mode); it expands the
study and hands each batch of runs to the configured Hydra launcher (see ``ganaudit.study.launch``).
"""

from __future__ import annotations

if __name__ == "__main__":  # determinism=portable: pinned environment before torch is imported
    from ganaudit.utils.determinism import reexec_for_mode

    reexec_for_mode("run_study")

import json
import logging
import os
from pathlib import Path

from omegaconf import DictConfig

from ganaudit.cli.hydra_app import hydra_app
from ganaudit.study.devices import register_resolver
from ganaudit.study.driver import StudyDriver, StudyProgress
from ganaudit.study.launch import HydraBatchLauncher
from ganaudit.study.orphans import mark_study_process
from ganaudit.study.preflight import preflight_study
from ganaudit.study.spec import StudySpec
from ganaudit.utils.exits import EXIT_FAILURE, cli_main, report

log = logging.getLogger("ganaudit.study")
register_resolver()   # ${ganaudit_parallel_jobs:...} in conf/hydra/launcher/parallel.yaml


def _task_options(cfg: DictConfig, launcher) -> dict:
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
    spec = StudySpec.from_config(cfg.study, cfg.hparam_keys)
    if cfg.get("determinism"):  # every run trains in the study's mode (its workers inherit the env)
        spec.base.insert(0, f"determinism={cfg.determinism}")
    results = Path(str(cfg.results_dir)).resolve()
    preflight_study(spec, results, str(cfg.study_task.name))  # before anything is planned or launched
    mark_study_process()  # launcher workers started from here die with this process
    with StudyProgress(f"study {spec.name}") as progress:
        driver = StudyDriver(spec, results, task=str(cfg.study_task.name),
                             task_options=_task_options(cfg, launcher), launcher=launcher,
                             batch_size=int(cfg.launch.batch_size), progress=progress)
        summary = driver.run()
    log.info("study %s: %s", spec.name, json.dumps(summary))
    return summary


@hydra_app("run_study")
@cli_main
def main(cfg: DictConfig) -> int:
    if cfg.get("plan"):   # size the study, launch nothing
        from ganaudit.study.plan import launcher_facts, plan_from_config, render
        from ganaudit.study.validate import check_study

        check_study(StudySpec.from_config(cfg.study, cfg.hparam_keys))  # refuses what the run would refuse
        print(render(plan_from_config(cfg, launcher_facts())))
        return 0
    summary = run_from_config(cfg, launcher=HydraBatchLauncher())
    print(json.dumps(summary, indent=1))
    bad = summary["statuses"].get("failed", 0) + summary["statuses"].get("missing", 0)
    if bad:
        # non-zero so that `dvc repro` does not lock a study with failed runs: rerunning retries them
        report(f"{bad} run(s) failed or are missing (reasons in {summary['results_dir']}/records/*.json); "
               "rerun the same command to retry them, finished runs are kept")
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    from ganaudit.utils.exits import hydra_cli

    hydra_cli(main, "run_study")
