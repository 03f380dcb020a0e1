"""The ``ganaudit`` console script: one command, one subcommand per entry point.

    ganaudit train trainer=smoke arch.width=0.125        # = python -m ganaudit.train ...
    ganaudit evaluate samples=runs/<run>/checkpoints/last.ckpt
    ganaudit audit verdict --claim-fid 120 runs/*/checkpoints/last.ckpt
    ganaudit --help

Each subcommand hands the rest of the command line to the module's own ``main`` unchanged, so
``python -m ganaudit.<module>`` and ``ganaudit <subcommand>`` accept the same arguments. Exit codes
are the module's (0 ok, 1 failure, 2 usage); an unknown subcommand exits 2.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

from ganaudit.utils.exits import hydra_cli

__all__ = ["SUBCOMMANDS", "main"]


class Subcommand(NamedTuple):
    module: str
    hydra: bool  # a Hydra app: reads its overrides from sys.argv
    summary: str


SUBCOMMANDS: dict[str, Subcommand] = {
    "train": Subcommand("ganaudit.training.train", True, "train (or resume) one configuration: Hydra overrides"),
    "evaluate": Subcommand("ganaudit.metrics.evaluate", False, "FID/IS/KID of samples or a checkpoint: samples=... [dataset=...]"),
    "describe": Subcommand("ganaudit.cli.describe", False, "parameter counts and shapes of a configuration, no data"),
    "data": Subcommand("ganaudit.data.__main__", False, "info | fetch | prepare | verify a dataset"),
    "study": Subcommand("ganaudit.study.__main__", True, "run a study (configurations x hyperparameters x seeds)"),
    "audit": Subcommand("ganaudit.audit.__main__", False,
                        "audit a study's results; 'audit verdict' checks a reported FID against seeds, "
                        "'audit explain' finds the protocol variant behind it"),
    "weights": Subcommand("ganaudit.metrics.fetch_weights", False, "fetch | ensure feature-extractor weights"),
}
# Subcommands whose determinism mode is set in the environment before torch is imported (a restart of
# the same command line, as `python -m ganaudit.<module>` does): subcommand -> primary config name.
REEXEC_CONFIG = {"train": "config", "study": "run_study", "evaluate": "evaluate", "audit verdict": "evaluate",
                 "audit explain": "evaluate"}
# ... and the argparse subcommands that take --determinism (default portable) for the same reason
REEXEC_FLAG = {"audit"}
AUDIT_VERDICT = Subcommand("ganaudit.audit.claim", False, "verdict for one published row or claimed FID")
AUDIT_EXPLAIN = Subcommand("ganaudit.audit.explain_cli", False, "which protocol variant explains a claimed FID")


def usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = ["usage: ganaudit <subcommand> [arguments]   (ganaudit <subcommand> --help for its own)", "",
             "subcommands:"]
    lines += [f"  {name:<{width}}  {sub.summary}" for name, sub in SUBCOMMANDS.items()]
    lines += ["", "Each subcommand also runs as python -m <module>, e.g. python -m ganaudit.train."]
    return "\n".join(lines)


def _resolve(name: str, rest: list[str]) -> tuple[str, Subcommand, list[str]]:
    if name == "audit" and rest[:1] == ["verdict"]:
        return "audit verdict", AUDIT_VERDICT, rest[1:]
    if name == "audit" and rest[:1] == ["explain"]:
        return "audit explain", AUDIT_EXPLAIN, rest[1:]
    return name, SUBCOMMANDS[name], rest


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    from_command_line = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in SUBCOMMANDS:
        print(f"ganaudit: unknown subcommand '{argv[0]}'; expected one of {', '.join(SUBCOMMANDS)}",
              file=sys.stderr)
        return 2
    label, sub, rest = _resolve(argv[0], argv[1:])
    if from_command_line and label in REEXEC_CONFIG:  # before the module imports torch
        from ganaudit.utils.determinism import reexec_for_mode

        reexec_for_mode(REEXEC_CONFIG[label])
    elif from_command_line and label in REEXEC_FLAG and rest[:1] != ["compare"]:
        from ganaudit.utils.determinism import reexec_cli

        reexec_cli()
    entry = importlib.import_module(sub.module).main
    if not sub.hydra:
        return int(entry(rest) or 0)
    saved = sys.argv
    sys.argv = [f"ganaudit {label}", *rest]
    try:
        hydra_cli(entry, REEXEC_CONFIG[label])  # the same one-line refusals as python -m
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
