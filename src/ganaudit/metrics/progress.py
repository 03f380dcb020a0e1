"""Progress display for long evaluation loops: a rich bar on a terminal, else a log line per ~10%."""

from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator, TypeVar

from rich.progress import track

T = TypeVar("T")
log = logging.getLogger(__name__)


def progress_iter(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items``, showing progress named ``label`` on stderr.

    Terminal: a transient rich progress bar. Otherwise (DVC stages, logs): for loops of at least 20
    known steps, one INFO log record per tenth (``label: k/total steps, s``); short or unsized loops
    are silent.
    """
    if sys.stderr.isatty():
        yield from track(items, description=label, total=total, transient=True)
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if not total or total < 20:
        yield from items
        return
    start, step = time.perf_counter(), max(1, total // 10)
    for k, item in enumerate(items, 1):
        yield item
        if k % step == 0 or k == total:
            log.info("%s: %d/%d steps, %.1f s", label, k, total, time.perf_counter() - start)
