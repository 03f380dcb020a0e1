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
