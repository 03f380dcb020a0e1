"""One writer at a time for a directory (a study's results store, a run directory).

    with exclusive(results_dir, what="results store"):
        ...   # no other process holds ``results_dir`` until the block ends (any exit, exceptions included)

A second process asking for the same directory gets :class:`ganaudit.utils.errors.LockedError` at once
(exit 1 through ``ganaudit.utils.exits``), whose one-line message names the directory, the holder (pid,
host, start time, command) and what to do. Nothing is written into the directory itself: the lock is
the sibling file ``<parent>/.<name>.lock`` and the holder's details are in ``<parent>/.<name>.lock.json``
(removed when the holder releases).

The lock is ``fcntl.flock`` on the open lock file: the kernel releases it when the holder's process
ends in any way (SIGKILL, a lost node), so a stale lock never blocks; the details file a killed holder
leaves behind is only read for messages and is overwritten by the next holder. flock locks are per open
file, so a second ``exclusive`` on the same directory in the same process is refused too. On a network
file system flock is only as good as the server's lock support (NFSv4: yes). Platforms without
``fcntl`` (Windows) get no lock, with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ganaudit.utils.errors import LockedError, OutputError

try:  # deferred: fcntl is POSIX-only
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["exclusive", "check_free", "lock_paths", "holder_of"]

log = logging.getLogger(__name__)


def lock_paths(path: str | Path) -> tuple[Path, Path]:
    """(lock file, holder details file) of the directory ``path``: siblings ``.<name>.lock[.json]``."""
    path = Path(path).absolute()
    return path.parent / f".{path.name}.lock", path.parent / f".{path.name}.lock.json"


def holder_of(path: str | Path) -> dict | None:
    """The details the current (or last) holder of ``path`` wrote: pid, host, started, command; or None."""
    try:
        return json.loads(lock_paths(path)[1].read_text())
    except (OSError, ValueError):
        return None


def _describe(holder: dict | None) -> str:
    if not holder:
        return "a process whose details are not written yet"
    return (f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('started')}, "
            f"command: {holder.get('command')}")


def _write_holder(details: Path) -> None:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]   # keeps ``-m ganaudit.study``
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": shlex.join([os.path.basename(argv[0]), *argv[1:]])}
    tmp = details.with_name(f"{details.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, details)


def _locked(path: str | Path, what: str, hint: str) -> LockedError:
    return LockedError(
        f"{what} '{Path(path).absolute()}' is in use by another process ({_describe(holder_of(path))}); "
        f"two writers at once would duplicate or mix its records: wait until that process ends, "
        f"or stop it{hint}; a killed holder releases the lock by itself")


def check_free(path: str | Path, *, what: str = "directory", hint: str = "") -> None:
    """LockedError (the message of :func:`exclusive`) if another process holds ``path`` now; writes
    nothing (a missing lock file means no holder). For refusing early: the holder may change at once,
    so the writer still takes :func:`exclusive`. flock cannot be tested without taking it, so the check
    holds the lock for an instant: a writer whose :func:`exclusive` falls in that instant is refused as
    if the checking process held the directory (of two commands starting at once, one still runs)."""
    if fcntl is None:
        return
    try:
        fd = os.open(lock_paths(path)[0], os.O_RDONLY)
    except OSError:  # no lock file (never held), or unreadable: exclusive() decides later
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(path, what, hint) from None
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def exclusive(path: str | Path, *, what: str = "directory", hint: str = "") -> Iterator[Path]:
    """Hold the lock of directory ``path`` for the block; yields the lock file's path.

    ``what`` names the directory in messages (``results store``, ``run directory``); ``hint`` is added
    to the refusal (e.g. which command to run instead). LockedError if another open lock holds it;
    OutputError if the lock file cannot be created (its parent is not a writable directory).
    """
    lock, details = lock_paths(path)
    if fcntl is None:
        log.warning("no file locking on this platform: nothing stops two writers of %s", path)
        yield lock
        return
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"{what} '{Path(path).absolute()}': cannot create its lock file '{lock}' ({exc.strerror}); "
                          "expected a writable parent directory") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(path, what, hint) from None
        _write_holder(details)
        try:
            yield lock
        finally:
            details.unlink(missing_ok=True)
    finally:
        os.close(fd)  # releases the flock (the kernel does the same when the process dies)
