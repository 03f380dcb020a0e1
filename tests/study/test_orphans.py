"""SIGKILL of a study under the parallel launcher leaves no worker process training."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest

from ganaudit.study import orphans
from tests.study.test_launchers import REPO, env_for, study_cmd


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.timeout(240)
def test_sigkill_of_a_parallel_study_takes_its_workers_down(tmp_path):
    cmd = study_cmd("hydra/launcher=parallel", "study.configurations.axes.loss=[ns]", "study.seeds=[0,1]",
                    "+study_task.options.sleep_s=120")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env_for(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    jobs = tmp_path / "outputs" / "study" / "demo"
    deadline = time.time() + 150
    while time.time() < deadline and len(list(jobs.glob("*/jobs/*"))) < 2:   # two jobs have started
        time.sleep(0.1)
    assert len(list(jobs.glob("*/jobs/*"))) >= 2, "the jobs never started"
    time.sleep(2.0)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert len([w for w in workers if _alive(w)]) >= 2
    os.kill(proc.pid, signal.SIGKILL)           # the study process we started, nothing else
    proc.wait(30)
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    left = [(w.pid, w.cmdline()[:3]) for w in workers if _alive(w)]
    for w in workers:  # never leave our own processes behind, whatever the outcome
        if _alive(w):
            w.kill()
    assert not left, f"worker processes outlived the killed study: {left}"
    assert not list((tmp_path / "results" / "studies" / "demo" / "records").glob("*.json"))  # none recorded


def test_only_direct_workers_on_this_host_watch(monkeypatch):
    monkeypatch.setenv(orphans.PARENT_ENV, f"{orphans.socket.gethostname()}:{os.getpid()}")
    assert orphans._study_pid() is None                        # the study itself (in-process jobs)
    monkeypatch.setenv(orphans.PARENT_ENV, f"another-host:{os.getppid()}")
    assert orphans._study_pid() is None                        # a SLURM node
    monkeypatch.setenv(orphans.PARENT_ENV, f"{orphans.socket.gethostname()}:{os.getppid()}")
    assert orphans._study_pid() == os.getppid()
    monkeypatch.delenv(orphans.PARENT_ENV)
    assert orphans.die_with_study() is False
