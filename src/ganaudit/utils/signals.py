"""SIGTERM and SIGINT end a command as *interrupted*: an :class:`ganaudit.utils.errors.Interrupted`
exception, so that each layer records what it was doing (a run's ``result.json`` with ``status:
interrupted``, a study's in-flight records) before the command exits ``128 + signum`` (143, 130).

    with interruptible():          # the handlers, for the block (main thread only; nestable)
        ...                        # a signal raises Interrupted(signum) here
        with deferred():           # e.g. around Lightning's fit: the first signal is only noted ...
            ...
            raise_pending()        # ... and raised here, at a safe point (a D step boundary)

A second signal while one is deferred raises at once (the user insists). Lightning installs its own
SIGTERM handler during ``fit`` and calls the one it found (ours) too, so both see the signal. A process
forked in the block (a DataLoader worker) inherits the handlers but keeps Python's default behaviour.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from ganaudit.utils.errors import Interrupted

__all__ = ["SIGNALS", "interruptible", "deferred", "pending", "raise_pending"]

SIGNALS = (signal.SIGTERM, signal.SIGINT)
_state = {"depth": 0, "deferred": 0, "received": [], "pid": None}


def _handler(signum: int, _frame) -> None:
    if os.getpid() != _state["pid"]:  # a forked child (e.g. a DataLoader worker): Python's default behaviour
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _state["received"].append(int(signum))
    if _state["deferred"] and len(_state["received"]) == 1:
        return  # raised by raise_pending at the next safe point
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM / SIGINT raise :class:`Interrupted` in the block; the previous handlers are restored after.
    Outside the main thread (where Python delivers signals) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    if _state["depth"] == 0:
        _state["received"], _state["pid"] = [], os.getpid()
    _state["depth"] += 1
    for s in SIGNALS:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        _state["depth"] -= 1
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextmanager
def deferred() -> Iterator[None]:
    """In the block the first signal is only noted (see :func:`raise_pending`)."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1


def pending() -> int | None:
    """The first signal received in the current :func:`interruptible` block, or None."""
    return _state["received"][0] if _state["received"] else None


def raise_pending() -> None:
    """Raise :class:`Interrupted` if a signal was noted."""
    signum = pending()
    if signum is not None:
        raise Interrupted(signum)
