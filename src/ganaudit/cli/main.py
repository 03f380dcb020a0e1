"""The ``ganaudit`` console script: one command, one subcommand per entry point.

    ganaudit train trainer=smoke arch.width=0.125        # = python -m ganaudit.train ...
    ganaudit evaluate samples=runs/<run>/checkpoints/last.ckpt
    ganaudit audit verdict --claim-fid 120 runs/*/checkpoints/last.ckpt
    ganaudit --help

Each subcommand is a module ``ganaudit.cli.<name>`` whose ``main`` takes the rest of the command line;
every ``python -m`` path (``python -m ganaudit.train``, ``python -m ganaudit.data``, ...) is a shim
that calls :func:`run_module`, so both spellings run the same code and accept, print and refuse alike.
Exit codes are the command's (0 ok, 1 failure, 2 usage); an unknown subcommand exits 2.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple, NoReturn

from ganaudit.utils.exits import EXIT_USAGE, report

__all__ = ["SUBCOMMANDS", "dispatch", "main", "run_module"]


class Subcommand(NamedTuple):
    module: str
    hydra: bool  # a Hydra app: reads its overrides from sys.argv
    summary: str
    python_m: str  # the module that `python -m` runs for it (ganaudit: `python -m ganaudit <name>`)


SUBCOMMANDS: dict[str, Subcommand] = {
    "train": Subcommand("ganaudit.cli.train", True, "train (or resume) one configuration: Hydra overrides",
                        "ganaudit.train"),
    "evaluate": Subcommand("ganaudit.cli.evaluate", False,
                           "FID/IS/KID of samples or a checkpoint: samples=... [dataset=...]", "ganaudit.evaluate"),
    "describe": Subcommand("ganaudit.cli.describe", False, "parameter counts and shapes of a configuration, no data",
                           "ganaudit.describe"),
    "data": Subcommand("ganaudit.cli.data", False, "info | fetch | prepare | verify a dataset", "ganaudit.data"),
    "study": Subcommand("ganaudit.cli.study", True, "run a study (configurations x hyperparameters x seeds)",
                        "ganaudit.study"),
    "audit": Subcommand("ganaudit.cli.audit", False,
                        "audit a study's results; 'audit verdict' checks a reported FID against seeds, "
                        "'audit explain' which protocol variant explains it, 'audit compare' a fresh run against a "
                        "committed report", "ganaudit.audit"),
    "weights": Subcommand("ganaudit.cli.weights", False, "fetch | ensure feature-extractor weights",
                          "ganaudit.metrics.fetch_weights"),
    "refstats": Subcommand("ganaudit.cli.refstats", False, "reference statistics of a dataset's real split",
                           "ganaudit.metrics.refstats"),
    "floor": Subcommand("ganaudit.cli.floor", False, "the real-data FID floor of a dataset's protocol",
                        "ganaudit.metrics.floor"),
    "baselines": Subcommand("ganaudit.cli.baselines", False,
                            "write (or --check) the configs of the published settings", "ganaudit.audit.baselines"),
    "determinism": Subcommand("ganaudit.cli.determinism", False,
                              "env | exec | show: the environment of a determinism mode", "ganaudit.determinism"),
    "digits-cnn": Subcommand("ganaudit.cli.digits_cnn", False, "train | pin the digits demo classifier",
                             "ganaudit"),
}
AUDIT_VERDICT = Subcommand("ganaudit.cli.verdict", False, "verdict for one published row or claimed FID",
                           "ganaudit.audit.claim")
AUDIT_EXPLAIN = Subcommand("ganaudit.cli.explain", False, "which protocol variant explains a claimed FID",
                           "ganaudit")
# Subcommands whose determinism mode is set in the environment before torch is imported (a restart of
# the same command line): subcommand -> primary config name ...
REEXEC_CONFIG = {"train": "config", "study": "run_study", "evaluate": "evaluate", "audit verdict": "evaluate",
                 "audit explain": "evaluate"}
# ... and the argparse subcommands that take --determinism (default portable) for the same reason
REEXEC_FLAG = {"audit", "refstats", "floor"}


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


def _restart_in_mode(label: str, rest: list[str]) -> None:
    """Restart the process in the determinism mode its command line asks for (before torch is imported)."""
    # deferred: imported only by the commands that restart
    from ganaudit.utils import determinism

    if label in REEXEC_CONFIG:
        determinism.reexec_for_mode(REEXEC_CONFIG[label])
    elif label in REEXEC_FLAG and rest[:1] != ["compare"]:
        determinism.reexec_cli()


def dispatch(argv: list[str], *, restart: bool) -> int:
    """Run ``ganaudit <argv>``; returns the exit code. ``restart``: the process may restart itself in
    the command's determinism mode (a command line, not a call from a test)."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else EXIT_USAGE
    if argv[0] not in SUBCOMMANDS:
        report(f"unknown subcommand '{argv[0]}'; expected one of {', '.join(SUBCOMMANDS)}")
        return EXIT_USAGE
    label, sub, rest = _resolve(argv[0], argv[1:])
    if restart:
        _restart_in_mode(label, rest)
    if sub.hydra:
        return _run_hydra(label, sub, rest)
    # deferred: a command's module imports torch, which must come after the restart above
    return int(importlib.import_module(sub.module).main(rest) or 0)


def _run_hydra(label: str, sub: Subcommand, rest: list[str]) -> int:
    """A Hydra app with ``sys.argv`` = its overrides; a bad override is refused before torch is imported."""
    # deferred: Hydra's import time, Hydra commands only
    from ganaudit.cli.hydra_app import refuse_bad_overrides

    saved = sys.argv
    sys.argv = [f"ganaudit {label}", *rest]
    try:
        refuse_bad_overrides(rest, REEXEC_CONFIG[label])
        importlib.import_module(sub.module).main()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv`` (default ``sys.argv[1:]``, then restarting in the command's determinism mode)."""
    return dispatch(list(sys.argv[1:] if argv is None else argv), restart=argv is None)


def run_module(subcommand: str) -> NoReturn:
    """The body of every ``python -m`` shim: ``ganaudit <subcommand> <sys.argv[1:]>``, then exit."""
    raise SystemExit(dispatch([*subcommand.split(), *sys.argv[1:]], restart=True))


if __name__ == "__main__":
    sys.exit(main())
