#!/usr/bin/env python
"""How long the main job's study takes on a 2-core machine, from CPU seconds (robust on a busy box).

    python benchmarks/demo_budget.py --source-root <root with data/prepared + artifacts> [--runs 2]
        [--study demo] [--workers 2] [--fixed-s 70] [--no-portable-env]

Trains the first ``--runs`` runs of ``study=<name>`` (its real overrides, one torch thread), each in
its own process under the instruction-set caps of portable mode (``ATEN_CPU_CAPABILITY=default
MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41 OMP_NUM_THREADS=1``, oneDNN off), and measures each run's
CPU time (user + sys of the child: wall time would count the other processes of a shared machine).
It prints per-run CPU seconds and FIDs, and the estimated wall time of the whole study with
``--workers`` single-thread workers (runs dealt round-robin, rounds of the slowest measured run),
plus ``--fixed-s`` for the other stages (prepare, weights, refstats, audit, dvc; measured separately,
benchmarks/RESULTS.md). Conservative: each measured run includes its process's ~6 s of imports, which a
study worker pays once. Runs go to a fresh temporary GANAUDIT_ROOT linked to the source root.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41",
                "OMP_NUM_THREADS": "1"}
RUNNER = ("import sys, torch; torch.backends.mkldnn.enabled = False; torch.set_num_threads(1); "
          "import json; from ganaudit.training.config import compose; from ganaudit.training.train import train; "
          "r = train(compose(sys.argv[1:])); print(json.dumps({k: r.get(k) for k in "
          "('status', 'fid_min', 'fid_final', 'fid_min_step', 'wall_time_s')}))")


def planned_runs(study: str) -> list:
    """The study's static runs (RunSpec, in plan order)."""
    from ganaudit.study.spec import StudySpec
    from ganaudit.training.config import compose

    cfg = compose([f"study={study}"], config_name="run_study")
    return StudySpec.from_config(cfg.study, cfg.hparam_keys).expand_static()


def cpu_of_child(cmd: list[str], env: dict) -> tuple[float, str]:
    """(user + sys CPU seconds of the finished child, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source-root", type=Path, required=True)
    p.add_argument("--study", default="demo")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--fixed-s", type=float, default=70.0, help="other stages' wall seconds")
    p.add_argument("--no-portable-env", action="store_true")
    args = p.parse_args()
    runs = planned_runs(args.study)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.update({} if args.no_portable_env else PORTABLE_ENV)
    cpu = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        os.symlink((args.source_root / "data" / "prepared").resolve(), root / "data" / "prepared")
        os.symlink((args.source_root / "artifacts").resolve(), root / "artifacts")
        for run in runs[: args.runs]:
            cmd = [sys.executable, "-c", RUNNER, *run.overrides, f"seed={run.seed}", f"paths.root={root}"]
            secs, out = cpu_of_child(cmd, env)
            cpu.append(secs)
            print(f"{run.label} {run.setting} seed {run.seed}: {secs:.1f} CPU s, {out.strip().splitlines()[-1]}",
                  flush=True)
    rounds = math.ceil(len(runs) / args.workers)
    study_s = rounds * max(cpu)
    print(json.dumps({"study": args.study, "n_runs": len(runs), "measured_runs": len(cpu),
                      "cpu_s_per_run": [round(c, 1) for c in cpu], "workers": args.workers, "rounds": rounds,
                      "est_study_wall_s": round(study_s), "fixed_s": args.fixed_s,
                      "est_main_job_min": round((study_s + args.fixed_s) / 60, 2),
                      "portable_env": not args.no_portable_env}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
