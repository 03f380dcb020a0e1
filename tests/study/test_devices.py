"""One run per GPU under hydra/launcher=parallel, on a CPU machine with a simulated device list."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganaudit.study import devices
from ganaudit.study.store import ResultsStore

REPO = Path(__file__).resolve().parents[2]


def test_visible_gpus_follow_fake_count_and_user_restriction(monkeypatch):
    assert devices.visible_gpus({"GANAUDIT_FAKE_GPUS": "3"}) == ["0", "1", "2"]
    monkeypatch.setattr(devices, "GPU_DEVICE_FILES", ("/",))          # as if a GPU driver were present
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    assert devices.visible_gpus({"CUDA_VISIBLE_DEVICES": "5,7"}) == ["5", "7"]
    assert devices.visible_gpus({}) == ["0", "1"]
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    assert devices.visible_gpus({}) == []


def test_parallel_jobs_is_gpu_count_else_cpu_default(monkeypatch):
    monkeypatch.setenv("GANAUDIT_FAKE_GPUS", "4")
    assert devices.parallel_jobs(2) == 4
    monkeypatch.delenv("GANAUDIT_FAKE_GPUS")
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    assert devices.parallel_jobs(3) == 3


def _claim_in_child(lock_dir: Path, n: int, hold: Path | None = None) -> subprocess.Popen:
    code = ("import sys, time, pathlib; from ganaudit.study.devices import claim_slot; "
            f"s = claim_slot({n}); print(s, flush=True); "
            f"p = pathlib.Path({str(hold)!r}) if {hold is not None} else None\n"
            "while p is not None and p.exists(): time.sleep(0.05)")
    env = {**os.environ, "GANAUDIT_DEVICE_LOCKS": str(lock_dir), "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)


def test_live_processes_get_distinct_slots_and_a_dead_ones_slot_is_reused(tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    procs = [_claim_in_child(tmp_path / "locks", 3, hold) for _ in range(3)]
    slots = sorted(int(p.stdout.readline()) for p in procs)
    assert slots == [0, 1, 2]                          # three live holders, three different slots
    procs[0].kill()                                    # a worker dies: its slot frees with its lock
    procs[0].wait(10)
    late = _claim_in_child(tmp_path / "locks", 3)
    freed = int(late.stdout.readline())
    late.wait(10)
    assert freed in slots
    hold.unlink()
    for p in procs[1:]:
        p.wait(10)


@pytest.mark.timeout(240)
def test_parallel_launcher_pins_each_concurrent_run_to_its_own_gpu(tmp_path):
    """4 fake GPUs -> n_jobs 4 -> 8 stand-in runs (2 demo configurations x 4 seeds), 4 at a time, each
    worker on its own device."""
    env = {**os.environ, "GANAUDIT_ROOT": str(tmp_path), "GANAUDIT_FAKE_GPUS": "4",
           "GANAUDIT_DEVICE_LOCKS": str(tmp_path / "locks"), "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, "-m", "ganaudit.study", "study=demo", "study_task.name=standin", "hydra/launcher=parallel",
           "study.hparams.fixed=[{lr:0.0002,beta1:0.5,beta2:0.999,n_dis:1}]", "study.seeds=[0,1,2,3]",
           "+study_task.options.sleep_s=1.5"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = ResultsStore(tmp_path / "results" / "studies" / "demo").records()
    assert len(recs) == 8 and {r["status"] for r in recs} == {"ok"}
    by_pid: dict[int, set] = {}
    for r in recs:
        assert r["worker"]["gpu"] == r["worker"]["cuda_visible_devices"]
        by_pid.setdefault(r["worker"]["pid"], set()).add(r["worker"]["gpu"])
    assert len(by_pid) >= 2 and all(len(g) == 1 for g in by_pid.values())   # workers keep their device
    gpus = [next(iter(g)) for g in by_pid.values()]
    assert len(gpus) == len(set(gpus)) and set(gpus) <= {"0", "1", "2", "3"}  # no two workers share one
    plan = json.loads((tmp_path / "results" / "studies" / "demo" / "plan.json").read_text())
    assert plan["task"]["options"]["pin_gpus"] is True


def test_pin_device_without_gpus_or_option_pins_nothing(monkeypatch):
    monkeypatch.setattr(devices, "_claimed", {})
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    monkeypatch.delenv("GANAUDIT_FAKE_GPUS", raising=False)
    assert devices.pin_device({"pin_gpus": True}) is None
    monkeypatch.setenv("GANAUDIT_FAKE_GPUS", "2")
    assert devices.pin_device({}) is None and "device" not in devices._claimed
