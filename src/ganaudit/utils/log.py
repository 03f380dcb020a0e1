"""Logging for ganaudit's command-line entry points. Library code logs with ``logging.getLogger(__name__)``
and never prints; a ``main`` that is not a Hydra app (Hydra configures logging itself) calls
:func:`setup_cli_logging` so that INFO messages (progress, what was written) reach stderr."""

from __future__ import annotations

import logging
import sys

__all__ = ["setup_cli_logging"]


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (pytest swaps it per test)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_cli_logging(level: int = logging.INFO) -> None:
    """Send ``ganaudit`` log records of ``level`` and above to stderr as bare messages, once."""
    logger = logging.getLogger("ganaudit")
    logger.setLevel(level)
    if not any(getattr(h, "_ganaudit_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ganaudit_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
