"""``plan=true``: the runs of a study and their estimated compute, checked against hand-derived numbers."""

import subprocess
import sys
from pathlib import Path

import pytest

from ganaudit.study.plan import load_costs, make_plan, step_seconds
from ganaudit.study.spec import StudySpec
from ganaudit.training.config import compose

REPO = Path(__file__).resolve().parents[2]
# resources/step_costs.yaml (benchmarks/RESULTS.md, H200): s per D step and the GP factor
RESNET19, SNDCGAN, GP_RESNET19 = 0.0973, 0.0247, 2.70


def spec_of(study: str, *overrides: str) -> StudySpec:
    cfg = compose([f"study={study}", *overrides], config_name="run_study")
    return StudySpec.from_config(cfg.study, cfg.hparam_keys)


def test_step_costs_table_matches_the_benchmark_figures():
    costs = load_costs()
    assert "H200" in costs["gpu"] and "benchmarks/RESULTS.md" in costs["source"]
    assert step_seconds(costs, "resnet19", "none", 128) == RESNET19
    assert step_seconds(costs, "resnet19", "wgan_gp", 128) == pytest.approx(RESNET19 * GP_RESNET19, rel=1e-12)
    assert step_seconds(costs, "sndcgan", "wgan_gp", 32) == pytest.approx(SNDCGAN * 1.55, rel=1e-12)
    # not measured: no made-up figure (SNDCGAN at 128 px has 16x the pixels of the measured 32 px)
    assert step_seconds(costs, "resnet_cifar", "none", 32) is None
    assert step_seconds(costs, "sndcgan", "none", 128) is None


def test_plan_of_smoke_by_hand():
    plan = make_plan(spec_of("smoke"), batch_size=8, launcher={"name": "local"})
    assert [(r.label, r.runs, r.arch, r.penalty, r.d_steps) for r in plan.rows] == [
        ("loss=ns,norm=spectral", 1, "sndcgan-32", "none", 4), ("loss=wgan,norm=spectral", 1, "sndcgan-32", "none", 4)]
    run_s = 4 * SNDCGAN                                              # 0.0988 s
    assert plan.gpu_hours() == pytest.approx(2 * run_s / 3600, rel=1e-12)
    assert len(plan.calls) == 1 and plan.concurrency == 1
    assert plan.wall_hours() == pytest.approx(2 * run_s / 3600, rel=1e-12)   # two runs one after another


def test_plan_of_the_norm_slice_on_slurm_by_hand():
    launcher = {"name": "slurm", "array_parallelism": 64, "gpus_per_node": 1}
    plan = make_plan(spec_of("norm_slice_celebahq"), batch_size=64, launcher=launcher)
    grid = {r.label: (r.settings, r.runs) for r in plan.rows if r.mode == "grid"}
    # Table 1: 3 lr x 4 (beta1, beta2, n_dis) = 12 without a penalty; x 2 lambda = 24 with one; 5 seeds.
    # GP keeps the 1 triple with n_dis 1 (3 x 2 x 1 = 6), GP 5 the 3 with n_dis 5 (18).
    assert grid == {"W/O": (12, 60), "BN": (12, 60), "LN": (12, 60), "SN": (12, 60), "GP": (6, 30),
                    "GP 5": (18, 90), "DR": (24, 120), "L2": (24, 120)}
    bo = [r for r in plan.rows if r.mode == "bo"]
    assert len(bo) == 6 * 2 + 1 + 1 and all(r.runs == 12 * 10 * 1 for r in bo)  # 14 groups x 12 rounds x 10
    assert plan.runs == 600 + 1680
    plain, gp = 100_000 * RESNET19, 100_000 * RESNET19 * GP_RESNET19            # 9,730 s and 26,271 s per run
    # static: 360 runs at the plain cost (W/O, BN, LN, SN, L2), 240 at the GP cost (GP, GP 5, DR);
    # BO: 10 plain groups x 120, 4 GP-cost groups (GP, GP 5, DR x 2) x 120
    hours = (360 * plain + 240 * gp + 1200 * plain + 480 * gp) / 3600
    assert plan.gpu_hours() == pytest.approx(hours, rel=1e-9) and round(hours, 1) == 9470.5
    # arrays: ceil(600 / 64) = 10 static + 12 BO rounds x ceil(140 / 64) = 3
    assert len(plan.calls) == 10 + 36 and max(len(c) for c in plan.calls) == 64
    # wall: static arrays in study order hold plain runs (3 arrays), mixed/GP (5), L2 (2);
    # a BO round: [W/O..SN x n_dis] 64 plain, then 64 holding GP-cost runs, then 12 L2
    wall = (5 * plain + 5 * gp) + 12 * (plain + gp + plain)
    assert plan.wall_hours() == pytest.approx(wall / 3600, rel=1e-9)
    assert not plan.warnings


def test_finished_runs_are_not_to_do_and_unmeasured_archs_are_warned():
    spec = spec_of("cifar10_repro")
    first = spec.expand_static()[0]
    done = [{"status": "ok", "source": first.source, "overrides": first.overrides},
            {"status": "failed", "source": "grid", "overrides": spec.expand_static()[1].overrides}]
    plan = make_plan(spec, batch_size=8, launcher={"name": "slurm", "array_parallelism": 4}, records=done)
    assert plan.todo == plan.runs - 1                                   # the failed one is still to do
    assert plan.concurrency == 4
    assert any("resnet_cifar" in w for w in plan.warnings) and any("launch.gpus" in w for w in plan.warnings)
    sndcgan = [r for r in plan.rows if r.arch == "sndcgan-32"]
    assert plan.gpu_hours() == pytest.approx(sum(r.runs * 200_000 * r.step_s for r in sndcgan) / 3600, rel=1e-12)


def test_plan_option_prints_and_launches_nothing(tmp_path):
    env = {"GANAUDIT_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-m", "ganaudit.study", "study=norm_slice_celebahq", "hydra/launcher=slurm",
                           "launch.batch_size=64", "launch.gpus=1", "plan=true"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "runs: 2,280 (2,280 to do)" in proc.stdout and "SLURM arrays: 46 of <= 64 runs" in proc.stdout
    assert f"compute: {9470.5:,.1f} GPU hours" in proc.stdout and "warning" not in proc.stdout
    assert not (tmp_path / "results").exists()
    wall = float(proc.stdout.split("wall time")[1].split(":")[1].split("h")[0].replace(",", ""))
    # 46 arrays of <= 64 runs, 64 at once: one wave per array, each as long as its slowest run. So no
    # faster than perfect packing (compute / 64) and no slower than 46 waves of the slowest run of all.
    per_run_h = [float(cells[-1].replace(",", "")) / int(cells[4].replace(",", ""))
                 for cells in (line.strip("|").split("|") for line in proc.stdout.splitlines()
                               if line.startswith("| ") and "GPU h" not in line)]
    assert 9470.5 / 64 < wall < 46 * max(per_run_h)
    assert wall == 202.4  # pinned: the slices' arrays as planned today


def test_plan_counts_the_runs_a_study_finished_as_done(tmp_path):
    """``plan=true`` after a finished study: the records carry the overrides the runs were launched
    with (the study's determinism mode first), and the plan must recognize them."""
    from ganaudit.study.plan import plan_from_config
    from ganaudit.study.store import ResultsStore

    cfg = compose(["study=demo", f"results_dir={tmp_path}"], config_name="run_study")
    launched = StudySpec.from_run_config(cfg).expand_static()       # what the runner writes per run
    assert launched[0].overrides[0] == f"determinism={cfg.determinism}"
    for i, run in enumerate(launched[:4]):
        ResultsStore(tmp_path).put({"status": "ok", "source": run.source, "overrides": run.overrides,
                                    "key": f"k{i}-s{run.seed}", "seed": run.seed, "evals": [],
                                    "fid_min": None, "fid_final": None})
    plan = plan_from_config(cfg, {"name": "local"})
    assert (plan.runs, plan.todo) == (6, 2)
