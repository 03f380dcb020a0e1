"""The SLURM wait loop and lost-job records without a cluster (fake squeue and submitit jobs)."""

import json
import os
import stat
from pathlib import Path

import pytest
from hydra.core.utils import JobStatus

from ganaudit.study import cluster
from ganaudit.study.runner import lost_job_ids, record_lost_job, write_plan
from ganaudit.study.store import ResultsStore

from .helpers import record


def test_slurm_env_reads_the_job_variables():
    env = {"SLURM_JOB_ID": "41", "SLURM_ARRAY_JOB_ID": "40", "SLURM_ARRAY_TASK_ID": "1", "SLURMD_NODENAME": "n7",
           "SLURM_JOB_PARTITION": "gpu"}
    assert cluster.slurm_env(env) == {"job_id": "41", "array_job_id": "40", "array_task_id": "1", "node": "n7",
                                      "partition": "gpu", "restart_count": None}
    assert cluster.slurm_env({"SLURMD_NODENAME": "n7"}) is None      # not inside a job


@pytest.fixture
def fake_squeue(tmp_path, monkeypatch):
    """A `squeue` on PATH that prints the file `queue` (lines '<id> <STATE>')."""
    queue = tmp_path / "queue"
    queue.write_text("")
    exe = tmp_path / "bin" / "squeue"
    exe.parent.mkdir()
    exe.write_text(f"#!/bin/sh\ncat {queue}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    return queue


class FakeJob:
    def __init__(self, job_id: str, folder: Path, value: str | None) -> None:
        self.job_id, self.value = job_id, value
        self.paths = type("P", (), {"result_pickle": folder / f"{job_id}.pkl", "stderr": folder / f"{job_id}.err"})

    def results(self):
        from hydra.core.utils import JobReturn

        ret = JobReturn()
        ret.status, ret._return_value = JobStatus.COMPLETED, self.value
        return [ret]


def test_a_cancelled_task_is_reported_and_the_others_still_awaited(tmp_path, fake_squeue, monkeypatch):
    jobs = [FakeJob(f"7_{i}", tmp_path, f"ok{i}") for i in range(3)]
    fake_squeue.write_text("7_0 RUNNING\n7_1 CANCELLED\n7_2 PENDING\n")
    polls = {"n": 0}

    def sleep(_):  # the tasks finish while the loop waits: 7_0 at once, 7_2 later; 7_1 never
        polls["n"] += 1
        jobs[0].paths.result_pickle.touch()
        if polls["n"] == 5:
            jobs[2].paths.result_pickle.touch()
            fake_squeue.write_text("7_2 COMPLETED\n")

    class Executor:
        def map_array(self, fn, *args):
            return jobs

    monkeypatch.setattr(cluster, "executor_for", lambda launcher: Executor())
    monkeypatch.setattr(cluster.time, "sleep", sleep)
    returns = cluster.submit_and_wait(object(), [["a"], ["b"], ["c"]], 0)
    assert [r.status for r in returns] == [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.COMPLETED]
    assert [returns[0]._return_value, returns[2]._return_value] == ["ok0", "ok2"]
    assert "SLURM job 7_1 left the queue without a result (last state seen CANCELLED;" in str(returns[1]._return_value)
    assert polls["n"] >= 5                                           # waited for 7_2 after 7_1 was lost


def test_queue_states_parses_one_line_per_task_and_none_when_squeue_fails(fake_squeue, monkeypatch):
    fake_squeue.write_text("12_0 RUNNING\n12_1 PENDING\n13 COMPLETING\n")
    assert cluster.queue_states(["12_0", "12_1", "13"]) == {"12_0": "RUNNING", "12_1": "PENDING", "13": "COMPLETING"}
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cluster.queue_states(["12_0"]) is None                     # cannot ask: keep waiting


def test_lost_job_is_recorded_failed_but_never_replaces_a_finished_run(tmp_path):
    runs = {k: {"seed": 0, "config_hash": k[:4], "study": "s", "label": "L", "overrides": ["seed=0"]}
            for k in ("aaaa-s0", "bbbb-s0")}
    write_plan(tmp_path / "plan.json", study="s", task={"name": "standin", "options": {}}, store=tmp_path, runs=runs)
    store = ResultsStore(tmp_path)
    store.put(record("bbbb-s0"))
    before = (tmp_path / "records" / "bbbb-s0.json").read_bytes()
    for key in runs:
        record_lost_job(tmp_path / "plan.json", key, "SLURM job 9_1 left the queue without a result (...)")
    lost = store.get("aaaa-s0")
    assert lost["status"] == "failed" and lost["reason"].startswith("job lost: SLURM job 9_1")
    assert lost["slurm"] == {"job_id": "9_1"} and lost["label"] == "L"
    assert (tmp_path / "records" / "bbbb-s0.json").read_bytes() == before
    assert lost_job_ids("worker process died") is None
    assert json.loads((tmp_path / "records" / "aaaa-s0.json").read_text())["attempt"] == 1
