"""``ganaudit determinism {env,exec,show}`` (= ``python -m ganaudit.determinism``): the environment of a
determinism mode (ganaudit.utils.determinism).

    ganaudit determinism env portable                     # KEY=VALUE lines to export
    ganaudit determinism exec -- python -m ganaudit.metrics.refstats digits ...   # run a command in the mode
    ganaudit determinism show                             # the settings in force here (JSON)
"""

from __future__ import annotations

import argparse
import json

from ganaudit.cli.args import ArgumentParser
from ganaudit.utils import determinism
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.exits import EXIT_FAILURE, EXIT_USAGE, report

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Print the mode's environment or the settings in force, or run a command in a mode."""
    p = ArgumentParser(prog="ganaudit determinism", description=determinism.__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    env = sub.add_parser("env", help="print KEY=VALUE lines of the mode's pinned environment")
    env.add_argument("mode", nargs="?", default=determinism.DEFAULT_MODE, choices=determinism.MODES)
    ex = sub.add_parser("exec", help="run a command in the mode's environment: exec [--mode M] -- CMD ...")
    ex.add_argument("--mode", default=determinism.DEFAULT_MODE, choices=determinism.MODES)
    ex.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("show", help="print the settings in force in a process started like this one (JSON)")
    args = p.parse_args(argv)
    try:
        if args.cmd == "env":
            print("\n".join(f"{k}={v}" for k, v in sorted(determinism.mode_env(args.mode, {}).items())))
        elif args.cmd == "exec":
            determinism.exec_command(args.mode, args.command[1:] if args.command[:1] == ["--"] else args.command)
        else:
            print(json.dumps(determinism.settings(), indent=1, sort_keys=True))
    except (ConfigError, OSError) as exc:
        report(str(exc))
        return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE
    return 0
