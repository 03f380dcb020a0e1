"""The argument parser of every argparse command: its refusals follow the one error policy.

    p = ArgumentParser(prog="ganaudit floor", description=...)
    p.parse_args(["--bogus"])
    # stderr: error: ganaudit floor: unrecognized arguments: --bogus (see ganaudit floor --help)
    # exit 2, nothing on stdout

argparse's own refusal is a usage block and then ``prog: error: ...``; ganaudit's commands print one
line starting ``error:`` instead (as a Hydra command's refusal of a bad override does), so both
kinds of command refuse alike (docs/CONTRACTS.md, "Errors and exit codes"). ``--help`` is unchanged.
The program name is the console script's (``ganaudit <subcommand>``) however the command was started,
so ``ganaudit X`` and ``python -m ganaudit.X`` print the same bytes.
"""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from ganaudit.utils.exits import EXIT_USAGE, report

__all__ = ["ArgumentParser", "as_flags"]


def as_flags(message: str, flags: dict[str, str]) -> str:
    """``message`` with the Hydra-style option hints of the library (``option 'dataset'``,
    ``dataset=<name>``, ``config=<run>/config.yaml``) spelt as this argparse command's flags
    (``flags``: option key -> flag, e.g. ``{"dataset": "--dataset"}``; a flag of None means the command
    has no such option: the hint then names ``ganaudit evaluate``, which has)."""
    for key, flag in flags.items():
        if flag is None:
            if re.search(rf"(?<![\w.'-]){re.escape(key)}=", message):
                message += f" ({key}= is an option of ganaudit evaluate, which this command does not have)"
            continue
        message = message.replace(f"option '{key}'", f"option '{flag}'")
        message = re.sub(rf"(?<![\w.'-]){re.escape(key)}=", f"{flag} ", message)
    return message


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one ``error:`` line and exit 2 (subparsers too)."""

    def error(self, message: str) -> NoReturn:
        report(f"{self.prog}: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_USAGE)
