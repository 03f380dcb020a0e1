"""How every ganaudit command ends: exit codes and one-line messages (docs/CONTRACTS.md, "Errors and
exit codes").

    0  the command did what was asked (a diverged run included: divergence is a result)
    1  a failure: bad data, weights, checkpoint or output location, a run or study run that failed
    2  a usage error: an invalid option or configuration (ConfigError)
  130  interrupted by SIGINT, 143 by SIGTERM (``Interrupted``; what was done is recorded, a rerun resumes)

An anticipated error (a :class:`ganaudit.utils.errors.GanauditError`) prints ``error: <message>`` on one
line on stderr and no traceback; any other exception is a bug and keeps its traceback.

    @cli_main
    def main(cfg) -> int | None: ...      # None or 0 -> exit 0; an int -> sys.exit(int)
    code = run_cli(fn, *args)              # the same, returning the code (tests call CLIs in-process)
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

from ganaudit.utils.errors import ConfigError, GanauditError, Interrupted
from ganaudit.utils.signals import interruptible

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

__all__ = ["EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "exit_code", "report", "run_cli", "cli_main"]


def exit_code(exc: BaseException) -> int:
    """2 for a ConfigError (usage), 1 for any other anticipated error."""
    return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE


def report(message: str, prefix: str = "error: ") -> None:
    """Print ``<prefix><message>`` as one line on stderr (newlines in the message are joined): the one
    place where the command-line layer writes its messages (library code logs)."""
    sys.stderr.write(prefix + " ".join(str(message).split("\n")) + "\n")
    sys.stderr.flush()


def run_cli(fn: Callable[..., Any], *args: Any, on_refused: Callable[[], None] | None = None, **kwargs: Any) -> int:
    """Call ``fn``; return its int result (None -> 0), or the exit code of an anticipated error after
    reporting it in one line (``on_refused()`` first, when given: e.g. removing what the refused command
    made). SIGTERM / SIGINT during ``fn`` end it as :class:`Interrupted`: one line ``interrupted: ...``
    and ``128 + signum``, nothing removed. Unexpected exceptions propagate with their traceback."""
    try:
        with interruptible():
            code = fn(*args, **kwargs)
    except GanauditError as exc:
        if on_refused is not None:
            on_refused()
        report(str(exc))
        return exit_code(exc)
    except Interrupted as exc:
        report(str(exc), prefix="interrupted: ")
        return exc.exit_code
    return EXIT_OK if code is None else int(code)


def cli_main(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command body: :func:`run_cli` then ``sys.exit`` with a non-zero code.

    Place it *under* ``@hydra.main``: SystemExit is not an Exception, so Hydra lets it through
    without printing a traceback of its own.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        code = run_cli(fn, *args, **kwargs)
        if code:
            sys.exit(code)

    return wrapper
