"""``ganaudit study study=<name> [hydra/launcher=local|joblib|submitit_local|slurm] [plan=true] [...]``
(= ``python -m ganaudit.study``).

The primary config is ``conf/run_study.yaml``. The app runs once (Hydra "run" mode); it expands the
study and hands each batch of runs to the configured Hydra launcher (see ``ganaudit.study.launch``).
Prints the summary JSON (or, with ``plan=true``, the plan); exit 1 when runs failed or are missing.
"""

from __future__ import annotations

import json

from omegaconf import DictConfig

from ganaudit.cli.hydra_app import hydra_app
from ganaudit.study.devices import register_resolver
from ganaudit.study.launch import HydraBatchLauncher
from ganaudit.study.plan import launcher_facts, plan_from_config, render
from ganaudit.study.run import run_from_config
from ganaudit.study.spec import StudySpec
from ganaudit.study.validate import check_study
from ganaudit.utils.exits import EXIT_FAILURE, report

__all__ = ["main"]

register_resolver()   # ${ganaudit_parallel_jobs:...} in conf/hydra/launcher/parallel.yaml


@hydra_app("run_study")
def main(cfg: DictConfig) -> int:
    """Run (or, with ``plan``, size) the study; print its summary; exit 1 when runs failed or are missing."""
    if cfg.get("plan"):   # size the study, launch nothing; refuse what the run would refuse
        check_study(StudySpec.from_config(cfg.study, cfg.hparam_keys))
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
