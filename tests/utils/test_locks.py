"""One writer per directory (ganaudit.utils.locks): refusal with the holder's details, release on any
exit, and no stale lock after the holder is killed."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from ganaudit.utils.errors import GanauditError, LockedError
from ganaudit.utils.exits import exit_code
from ganaudit.utils.locks import check_free, exclusive, holder_of, lock_paths


def test_second_holder_is_refused_naming_the_holder_and_nothing_is_written_inside(tmp_path):
    store = tmp_path / "store"
    with exclusive(store, what="results store") as lock:
        assert lock == tmp_path / ".store.lock" and not store.exists()   # siblings, not in the store
        holder = holder_of(store)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(LockedError) as err, exclusive(store, what="results store", hint=" (see the docs)"):
            pass
    msg = str(err.value)
    assert "\n" not in msg and f"results store '{store}' is in use" in msg
    assert f"pid {os.getpid()} on {socket.gethostname()}, since {holder['started']}" in msg
    assert "command: " in msg and "(see the docs)" in msg and "releases the lock by itself" in msg
    assert isinstance(err.value, GanauditError) and exit_code(err.value) == 1
    assert holder_of(store) is None and not lock_paths(store)[1].exists()   # details removed on release


def test_check_free_refuses_while_held_and_writes_nothing(tmp_path):
    store = tmp_path / "store"
    check_free(store)  # never held: no lock file, and none made
    assert list(tmp_path.iterdir()) == []
    with exclusive(store, what="run directory"):
        with pytest.raises(LockedError, match=re.escape(f"run directory '{store}' is in use by another process (pid ")):
            check_free(store, what="run directory")
        before = {p: p.read_bytes() for p in tmp_path.iterdir()}
        with pytest.raises(LockedError):
            check_free(store)
        assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before  # the holder's files untouched
    check_free(store)  # released: free again (the lock file stays, as after any holder)
    with exclusive(store):  # and the check took nothing with it
        pass


def test_released_on_exception_and_reusable(tmp_path):
    with pytest.raises(RuntimeError), exclusive(tmp_path / "d"):
        raise RuntimeError("boom")
    with exclusive(tmp_path / "d"):
        assert holder_of(tmp_path / "d")["pid"] == os.getpid()


HOLD = """
import sys, time
from ganaudit.utils.locks import exclusive
with exclusive(sys.argv[1], what="run directory"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_killed_holder_does_not_block(tmp_path):
    target = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=f"pid {proc.pid} on "):
            with exclusive(target, what="run directory"):
                pass
    finally:
        os.kill(proc.pid, signal.SIGKILL)      # the process this test started
        proc.wait(30)
    assert json.loads(lock_paths(target)[1].read_text())["pid"] == proc.pid   # stale details left behind
    t0 = time.perf_counter()
    with exclusive(target, what="run directory"):
        assert holder_of(target)["pid"] == os.getpid()
    assert time.perf_counter() - t0 < 1.0


def test_unwritable_parent_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from ganaudit.utils.errors import OutputError

    with pytest.raises(OutputError, match="cannot create its lock file"), exclusive(blocker / "store"):
        pass
