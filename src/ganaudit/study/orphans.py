"""Launcher workers die with the study that started them.

A process-parallel launcher (``hydra/launcher=parallel``: joblib's loky workers; ``submitit_local``)
runs each job in a child process of the study. If the study is killed (SIGKILL, OOM killer), those
children would go on training with nobody to collect their results. The study marks itself in the
environment (``GANAUDIT_STUDY_PARENT=<host>:<pid>``, inherited by its workers); a job starting in a
direct child process on the same host starts a watchdog thread that ends the process within
``POLL_S`` seconds of the study's death (its run keeps its last checkpoint, and rerunning the study
resumes it). Jobs on other hosts (SLURM) and in-process jobs are left alone. A watchdog thread rather
than ``prctl(PR_SET_PDEATHSIG)``: the latter fires when the *thread* that forked the worker exits,
and loky forks from helper threads that come and go.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from ganaudit.utils.exits import report

__all__ = ["PARENT_ENV", "POLL_S", "mark_study_process", "die_with_study"]

PARENT_ENV = "GANAUDIT_STUDY_PARENT"
POLL_S = 0.5
_started = False


def mark_study_process() -> None:
    """Record this process as the study (called before any launcher starts workers)."""
    os.environ[PARENT_ENV] = f"{socket.gethostname()}:{os.getpid()}"


def _study_pid() -> int | None:
    """The study's pid when this process is a worker it started on this host, else None."""
    host, _, pid = os.environ.get(PARENT_ENV, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    return int(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end(pid: int) -> None:
    report(f"the study process {pid} is gone; ending its worker {os.getpid()} (the run resumes from "
           "its last checkpoint when the study is rerun)", prefix="ganaudit: ")
    os._exit(1)


def _watch(pid: int) -> None:
    while os.getppid() == pid:
        time.sleep(POLL_S)
    _end(pid)


def die_with_study() -> bool:
    """In a worker of a study on this host: start the watchdog (once per process); True if watching.

    If the study is already gone when the job starts, the process ends at once."""
    global _started
    pid = _study_pid()
    if pid is None:
        return False
    if os.getppid() != pid:
        if not _alive(pid):
            _end(pid)
        return False  # a grandchild or another arrangement: the study is alive, leave it be
    if not _started:
        threading.Thread(target=_watch, args=(pid,), name="ganaudit-study-watchdog", daemon=True).start()
        _started = True
    return True
