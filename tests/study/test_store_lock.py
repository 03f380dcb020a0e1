"""One study per results store: a second study on the same store is refused while the first runs, and
the store's lock does not outlive a killed study (ganaudit.utils.locks through the study driver)."""

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ganaudit.study.driver import StudyDriver
from ganaudit.study.store import ResultsStore
from ganaudit.utils.errors import LockedError
from ganaudit.utils.locks import exclusive, holder_of
from tests.study.test_driver import small_spec
from tests.study.test_launchers import REPO, env_for, study_cmd

SLOW = ["study.name=locktest", "study.seeds=[0,1,2]", "+study_task.options.sleep_s=1.0", "launch.batch_size=2"]


def tree_digest(root: Path) -> str:
    """sha256 over the relative paths and bytes of every file under ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _wait_for_holder(store: Path, proc, timeout=120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        holder = holder_of(store)
        if holder and holder["pid"] > 0:
            return holder
        time.sleep(0.05)
    raise AssertionError(f"study never took the lock of {store} (exit {proc.poll()})")


@pytest.mark.timeout(300)
def test_second_study_on_one_store_is_refused_and_the_first_is_unaffected(tmp_path):
    store = tmp_path / "results" / "studies" / "locktest"
    first = subprocess.Popen(study_cmd(*SLOW), cwd=REPO, env=env_for(tmp_path), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        holder = _wait_for_holder(store, first)
        second = subprocess.run(study_cmd(*SLOW), cwd=REPO, env=env_for(tmp_path), capture_output=True, text=True,
                                timeout=180)
        assert first.poll() is None, "the first study must still be running when the second asks"
    finally:
        out, err = first.communicate(timeout=240)
    assert second.returncode == 1, second.stderr[-2000:]
    lines = [ln for ln in second.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in second.stderr
    assert f"results store '{store}' is in use by another process (pid {holder['pid']} on {holder['host']}" in lines[0]
    assert "ganaudit.study" in lines[0] and "wait until that process ends" in lines[0]
    assert first.returncode == 0, err[-3000:]
    records = ResultsStore(store).records()
    assert len(records) == 12 and {r["attempt"] for r in records} == {1}   # each run once, no replaced attempt
    assert not (store / "attempts").exists()
    assert len({r["worker"]["pid"] for r in records}) == 1                 # all written by the first study


@pytest.mark.timeout(300)
def test_a_killed_study_does_not_block_the_next(tmp_path):
    store = tmp_path / "results" / "studies" / "locktest"
    proc = subprocess.Popen(study_cmd(*SLOW), cwd=REPO, env=env_for(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    holder = _wait_for_holder(store, proc)
    os.kill(proc.pid, signal.SIGKILL)          # the study process this test started
    proc.wait(30)
    assert holder_of(store)["pid"] == holder["pid"]   # its details are left behind, its lock is not
    fast = [o for o in SLOW if "sleep_s" not in o]
    done = subprocess.run(study_cmd(*fast), cwd=REPO, env=env_for(tmp_path), capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(r["status"] for r in ResultsStore(store).records()) == ["ok"] * 12


def test_study_refused_in_process_leaves_the_store_byte_identical(tmp_path):
    spec = small_spec(seeds=(0,))
    root = tmp_path / "res"
    StudyDriver(spec, root, task="standin").run()
    before = tree_digest(root)
    with exclusive(root, what="results store"):
        with pytest.raises(LockedError, match="is in use by another process"):
            StudyDriver(spec, root, task="standin").run()
    assert tree_digest(root) == before
