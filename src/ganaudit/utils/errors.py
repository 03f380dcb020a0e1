"""Errors that users see. Each message names the option, file or value and what was expected."""


class GanauditError(Exception):
    """Base class of every error ganaudit raises on purpose."""


class ConfigError(GanauditError, ValueError):
    """An invalid configuration value, detected before any training or evaluation starts."""


class DataError(GanauditError):
    """Missing, corrupt or drifted data: the message names the file or item and what was expected."""


class WeightsError(GanauditError):
    """A missing feature-extractor weights file, or one whose hash is not the pinned one."""


class OutputError(GanauditError):
    """An output location (record file, run or results directory) that cannot be written; raised
    before any computing starts."""


class CheckpointError(GanauditError):
    """A checkpoint that cannot be used: unreadable, or written by another configuration or seed."""


class LockedError(GanauditError):
    """A directory (results store, run directory) that another process is writing: the message names
    the holder (pid, host, start time, command) and what to do; nothing was written."""


class Interrupted(BaseException):
    """A command stopped by SIGTERM or SIGINT (``ganaudit.utils.signals``). Not an ``Exception``, so code
    that records failures (``except Exception``) lets it through; the command exits ``128 + signum``
    (143 for SIGTERM, 130 for SIGINT) with its one-line message."""

    def __init__(self, signum: int, message: str | None = None) -> None:
        import signal

        self.signum = int(signum)
        self.signame = signal.Signals(self.signum).name
        super().__init__(message or f"stopped by {self.signame}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
