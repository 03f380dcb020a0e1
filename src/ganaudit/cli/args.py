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
from typing import NoReturn

from ganaudit.utils.exits import EXIT_USAGE, report

__all__ = ["ArgumentParser"]


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one ``error:`` line and exit 2 (subparsers too)."""

    def error(self, message: str) -> NoReturn:
        report(f"{self.prog}: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_USAGE)
