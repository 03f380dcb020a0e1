"""The study entry point through Hydra launchers (local, joblib, submitit local) and a SIGKILL mid-way.

Each test runs ``python -m ganaudit.study`` in a subprocess with the stand-in task (no training), so it
checks the real launcher path: plan file, job overrides, worker processes, results store.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ganaudit.study.store import ResultsStore
from ganaudit.utils.determinism import MODE_ENV, PORTABLE_ENV

REPO = Path(__file__).resolve().parents[2]


def study_cmd(*overrides):
    # one setting: these tests exercise the launch machinery on the demo's runs with two normalizations
    return [sys.executable, "-m", "ganaudit.study", "study=demo", "study_task.name=standin",
            "study.hparams.fixed=[{lr:0.0002,beta1:0.5,beta2:0.999,n_dis:1}]",
            "study.configurations.axes.norm=[none,spectral]", *overrides]


def env_for(root: Path) -> dict:
    """This environment without the determinism mode's variables: the study sets them (re-exec)."""
    env = {k: v for k, v in os.environ.items() if k not in {*PORTABLE_ENV, MODE_ENV}}
    return {**env, "GANAUDIT_ROOT": str(root), "HYDRA_FULL_ERROR": "1", "ATEN_CPU_CAPABILITY": "avx2"}


def run_study(root: Path, *overrides, timeout=180):
    proc = subprocess.run(study_cmd(*overrides), cwd=REPO, env=env_for(root), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((root / "results" / "studies" / _name(overrides) / "summary.json").read_text())


def _name(overrides):
    for o in overrides:
        if o.startswith("study.name="):
            return o.split("=", 1)[1]
    return "demo"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("launcher, min_workers", [("parallel", 2), ("submitit_local", 2)])
def test_runs_execute_in_launcher_worker_processes(tmp_path, launcher, min_workers):
    summary = run_study(tmp_path, f"hydra/launcher={launcher}", "study.configurations.axes.loss=[ns]",
                        "study.seeds=[0,1]", "+study_task.options.sleep_s=0.2")
    assert summary["launched"] == 4 and summary["statuses"] == {"ok": 4}
    recs = ResultsStore(tmp_path / "results" / "studies" / "demo").records()
    pids = {r["worker"]["pid"] for r in recs}
    assert len(pids) >= min_workers            # separate worker processes ran the jobs
    assert {r["worker"]["determinism"] for r in recs} == {"portable"}  # workers inherit the pinned env
    again = run_study(tmp_path, f"hydra/launcher={launcher}", "study.configurations.axes.loss=[ns]",
                      "study.seeds=[0,1]")
    assert again["launched"] == 0 and again["skipped_finished"] == 4


@pytest.mark.timeout(240)
def test_a_jobs_own_config_names_the_study_that_was_run(tmp_path):
    """Launched jobs compose their config afresh: with the command line's overrides, so their .hydra
    config and output folder are the study's (here study.name=renamed), not the default study's."""
    from omegaconf import OmegaConf

    run_study(tmp_path, "hydra/launcher=parallel", "study.name=renamed", "study.configurations.axes.loss=[ns]",
              "study.seeds=[0]")
    jobs = sorted((tmp_path / "outputs" / "study").glob("*/*/jobs/*/.hydra/config.yaml"))
    assert len(jobs) == 2 and {p.parts[-6] for p in jobs} == {"renamed"}
    for path in jobs:
        cfg = OmegaConf.load(path)
        assert cfg.study.name == "renamed" and cfg.study_task.name == "standin"
        assert list(cfg.study.configurations.axes.norm) == ["none", "spectral"]


@pytest.mark.timeout(240)
def test_sigkill_midway_then_rerun_finishes_without_repeats_or_losses(tmp_path):
    overrides = ["study.name=killtest", "study.seeds=[0,1,2,3,4,5]", "+study_task.options.sleep_s=0.3",
                 "launch.batch_size=4", "study.configurations.axes.loss=[ns,wgan]"]
    records = tmp_path / "results" / "studies" / "killtest" / "records"
    proc = subprocess.Popen(study_cmd(*overrides), cwd=REPO, env=env_for(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(records.glob("*.json"))) < 6:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)           # the study process we started, nothing else
    proc.wait(30)
    before = {p.name: p.read_bytes() for p in records.glob("*.json")}
    assert 6 <= len(before) < 24, "kill must land mid-way"
    summary = run_study(tmp_path, *overrides)
    after = {p.name: p.read_bytes() for p in records.glob("*.json")}
    assert len(after) == 24                     # 4 configurations x 6 seeds, none lost
    assert all(after[name] == blob for name, blob in before.items())   # finished runs never redone
    assert summary["launched"] == 24 - len(before) and summary["skipped_finished"] == len(before)
    assert all(json.loads(b)["attempt"] == 1 for b in after.values())
    runs = pd.read_csv(tmp_path / "results" / "studies" / "killtest" / "runs.csv")
    assert len(runs) == 24 and runs["key"].is_unique


def test_bad_study_option_is_a_clear_error(tmp_path):
    proc = subprocess.run(study_cmd("study.hparams.modes=[nope]"), cwd=REPO, env=env_for(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "study.hparams.modes: unknown mode 'nope'" in proc.stderr + proc.stdout


def test_failed_runs_give_exit_code_1_and_are_retried(tmp_path):
    marker = tmp_path / "fail.txt"
    marker.write_text("*")
    args = ["study.configurations.axes.loss=[ns]", "study.configurations.axes.norm=[none]", "study.seeds=[0,1]",
            f"+study_task.options.fail_marker={marker}"]
    proc = subprocess.run(study_cmd(*args), cwd=REPO, env=env_for(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "2 run(s) failed or are missing" in proc.stderr + proc.stdout
    recs = ResultsStore(tmp_path / "results" / "studies" / "demo").records()
    assert [r["status"] for r in recs] == ["failed", "failed"] and "stand-in failure" in recs[0]["reason"]
    marker.unlink()
    summary = run_study(tmp_path, *args)
    assert summary["launched"] == 2 and summary["statuses"] == {"ok": 2}


LAUNCHERS = sorted(p.stem for p in (REPO / "conf" / "hydra" / "launcher").glob("*.yaml"))
TARGETS = {"local": "BasicLauncher", "parallel": "JoblibLauncher", "slurm": "SlurmLauncher",
           "slurm_local": "SlurmLauncher"}


@pytest.mark.parametrize("name", LAUNCHERS)
def test_every_launcher_config_composes(tmp_path, name):
    proc = subprocess.run([sys.executable, "-m", "ganaudit.study", f"hydra/launcher={name}", "--cfg", "hydra",
                           "-p", "hydra.launcher"], cwd=REPO, env=env_for(tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert TARGETS[name] in proc.stdout
    if name.startswith("slurm"):   # no gres request unless asked (a cluster without GPUs refuses --gpus)
        assert "gres: null" in proc.stdout
        assert ("gpus_per_node: ${launch.gpus}" if name == "slurm" else "gpus_per_node: null") in proc.stdout
    if name == "slurm":
        for key in ("partition: null", "timeout_min: 1440", "array_parallelism: 64", "max_num_timeout: 3"):
            assert key in proc.stdout
    if name == "slurm_local":
        assert "partition: local" in proc.stdout and "cpus_per_task: 1" in proc.stdout


@pytest.mark.parametrize("extra, gpus", [([], None), (["launch.gpus=2"], 2)])
def test_slurm_asks_for_gpus_only_with_launch_gpus(extra, gpus):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from ganaudit.training.config import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose("run_study", overrides=["hydra/launcher=slurm", *extra], return_hydra_config=True)
    assert OmegaConf.select(cfg, "hydra.launcher.gpus_per_node") == gpus


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """``srun`` and ``sbatch`` on PATH that need no SLURM: sbatch keeps a copy of each script it is given
    (``<tmp>/sbatch/<n>.sh``) and answers as SLURM does (job 4200 + n)."""
    bindir, kept = tmp_path / "bin", tmp_path / "sbatch"
    bindir.mkdir()
    kept.mkdir()
    (bindir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "sbatch").write_text(f"#!/bin/sh\nn=$(ls {kept} | wc -l)\ncp \"$1\" {kept}/$n.sh\n"
                                   "echo \"Submitted batch job $((4200 + n))\"\n")
    for exe in bindir.iterdir():
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return kept


def test_submitit_executor_emits_gres_only_when_gpus_are_asked(tmp_path, fake_slurm):
    """The sbatch script submitit writes from the launcher's parameters: --gpus-per-node only on request.
    Submitted through submitit's public map_array to a stand-in sbatch, so no SLURM is needed."""
    from ganaudit.study.compat_submitit import executor_for

    class Launcher:
        params = {"submitit_folder": str(tmp_path / "%j"), "max_num_timeout": 3, "partition": "local",
                  "gpus_per_node": None, "cpus_per_task": 1, "mem_gb": 2, "timeout_min": 5, "array_parallelism": 4}

    def sbatch_text(params, n_jobs=2):
        Launcher.params = {**Launcher.params, **params}
        before = set(fake_slurm.iterdir())
        jobs = executor_for(Launcher()).map_array(len, [[1]] * n_jobs)
        assert len(jobs) == n_jobs
        (script,) = set(fake_slurm.iterdir()) - before
        return script.read_text()

    text = sbatch_text({}, n_jobs=6)   # array_parallelism caps the array's running tasks
    for line in ("#SBATCH --partition=local", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=2GB",
                 "#SBATCH --time=5", "#SBATCH --array=0-5%4"):
        assert line in text.splitlines()
    assert "gpu" not in text
    assert "#SBATCH --gpus-per-node=1" in sbatch_text({"gpus_per_node": 1}).splitlines()
