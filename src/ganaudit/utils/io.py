"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Every write goes to a temporary sibling (same folder, so the rename stays on one file system), is
flushed and fsynced, then ``os.replace``d onto the final name. If anything fails before the rename,
the temporary file is removed and the previous file (if any) is left untouched.

    atomic_write_json(run_dir / "result.json", result)
    atomic_write_text(path, "text\\n")
    atomic_write_bytes(path, b"...")
    atomic_save(path, lambda fh: torch.save(state, fh))       # any writer taking a binary file
    with atomic_path(path) as tmp:                              # a writer that needs a path
        urllib.request.urlretrieve(url, tmp)
    check_writable(run_dir, "run directory")                    # OutputError before any computing
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from ganaudit.utils.errors import OutputError

__all__ = ["atomic_path", "atomic_save", "atomic_write_bytes", "atomic_write_text", "atomic_write_json",
           "check_writable"]


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on a clean exit fsync it and replace ``path`` with it.

    The parent folder is created. On an exception the temporary file is deleted and re-raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_save(path: Path | str, writer: Callable[[IO[bytes]], Any]) -> None:
    """Call ``writer(fh)`` on a binary file handle, then move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        writer(fh)
        fh.flush()


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_save(path, lambda fh: fh.write(data))


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any, *, indent: int | None = 2, sort_keys: bool = True,
                      default: Callable[[Any], Any] | None = str, allow_nan: bool = True) -> None:
    """Write ``obj`` as JSON (plus a trailing newline) to ``path`` atomically.

    The text is serialized before the file is touched, so an unserializable object leaves nothing.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default, allow_nan=allow_nan)
    atomic_write_text(path, text + "\n")


def check_writable(path: str | Path, what: str, *, is_file: bool = False) -> None:
    """OutputError unless ``path`` (a directory, or a file when ``is_file``) can be created or written.

    Nothing is created: the nearest existing ancestor must be a writable directory (or ``path``
    itself an existing writable file / directory)."""
    path = Path(path).absolute()
    if path.exists():
        ok = os.access(path, os.W_OK) and (path.is_file() if is_file else path.is_dir())
        probe = path
    else:
        probe = path.parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        ok = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
    if not ok:
        raise OutputError(f"{what} '{path}' cannot be written ('{probe}' is not a writable "
                          f"{'file' if probe == path and is_file else 'directory'}); expected a writable "
                          "location: fix its permissions or choose another path")
