"""``ganaudit determinism {env,exec,show}`` (= ``python -m ganaudit.determinism``): the environment of a
determinism mode (ganaudit.utils.determinism).

    ganaudit determinism env portable                     # KEY=VALUE lines to export
    ganaudit determinism exec -- python -m ganaudit.metrics.refstats digits ...   # run a command in the mode
    ganaudit determinism show [--json]                    # this process's settings, and each command's mode

``show`` answers two questions apart: what *this* process has (a plain shell sets nothing, so it has
the machine's own kernels, as ``determinism=fast`` would), and which mode a run started by each command
would use by default and how to change it (see :func:`command_modes`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path

import yaml

from ganaudit.cli.args import ArgumentParser
from ganaudit.cli.main import REEXEC_CONFIG, REEXEC_FLAG, SUBCOMMANDS
from ganaudit.utils import determinism
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.exits import EXIT_FAILURE, EXIT_USAGE, report
from ganaudit.utils.repo import repo_root

__all__ = ["command_modes", "dvc_stage_modes", "main", "this_process"]

HYDRA_CHANGE = "add determinism=fast (or =portable) to its overrides"
FLAG_CHANGE = "add --determinism fast"
NONE = "unpinned"  # runs in the environment of the shell that starts it


def _default(config_name: str) -> str:
    return determinism.mode_from_argv([], config_name)  # the packaged (or $GANAUDIT_CONF) config's default


def command_modes() -> list[dict]:
    """Per subcommand: ``{"command", "default", "change"}``, the determinism mode a run started by
    it uses by default (read from the config it restarts in, or its ``--determinism`` flag) and how to
    choose another, derived from the tables of :mod:`ganaudit.cli.main` that the restart itself uses."""
    rows = []
    for name, sub in SUBCOMMANDS.items():
        spelling = f"ganaudit {name} (python -m {sub.python_m}{f' {name}' if sub.python_m == 'ganaudit' else ''})"
        if name in REEXEC_CONFIG and SUBCOMMANDS[name].hydra:
            rows.append({"command": spelling, "default": _default(REEXEC_CONFIG[name]), "change": HYDRA_CHANGE})
        elif name in REEXEC_CONFIG:  # a composed config read from key=value arguments (evaluate)
            rows.append({"command": spelling, "default": _default(REEXEC_CONFIG[name]),
                         "change": "add determinism=fast; use the mode the runs were trained in"})
        elif name in REEXEC_FLAG:
            rows.append({"command": spelling, "default": determinism.DEFAULT_MODE, "change": FLAG_CHANGE})
        else:
            rows.append({"command": spelling, "default": NONE, "change": "the shell's environment: prefix the command "
                         "with ganaudit determinism exec --mode M --"})
    for label in ("audit verdict", "audit explain"):
        rows.append({"command": f"ganaudit {label}", "default": _default(REEXEC_CONFIG[label]),
                     "change": f"none on the command line (the determinism default of {REEXEC_CONFIG[label]}.yaml, "
                               "the mode the runs were trained in)"})
    return rows


def _mode_of_command(cmd: str) -> str:
    """The mode a dvc stage's command runs in: ``ganaudit.determinism exec [--mode M]``, else that of
    the ganaudit command it runs (a Hydra override or --determinism flag on its line counts)."""
    words = shlex.split(cmd.replace("${", "X{"))
    if "ganaudit.determinism" in words and "exec" in words:
        return words[words.index("--mode") + 1] if "--mode" in words else determinism.DEFAULT_MODE
    module = next((w for w in words if w.startswith("ganaudit.")), None)
    by_module = {sub.python_m: name for name, sub in SUBCOMMANDS.items() if sub.python_m != "ganaudit"}
    name = by_module.get(module or "")
    if "audit_study.py" in cmd:
        name = "audit"
    if name in REEXEC_CONFIG:
        return determinism.mode_from_argv(words, REEXEC_CONFIG[name])
    if name in REEXEC_FLAG:
        return determinism.mode_from_flag(words)
    return NONE


def dvc_stage_modes(dvc_yaml: Path | None = None) -> list[dict]:
    """Per stage of the repository's ``dvc.yaml`` (none outside a clone): ``{"stage", "default"}``."""
    root = repo_root()
    path = dvc_yaml or (root / "dvc.yaml" if root else None)
    if path is None or not path.is_file():
        return []
    stages = (yaml.safe_load(path.read_text()) or {}).get("stages", {})
    rows = []
    for name, stage in stages.items():
        cmd = (stage.get("do") or stage).get("cmd", "")
        rows.append({"stage": name, "default": _mode_of_command(" ".join(cmd) if isinstance(cmd, list) else cmd)})
    return rows


def this_process() -> dict:
    """:func:`ganaudit.utils.determinism.settings` of this process, with ``mode`` saying whether it was
    started in a mode at all (a plain shell: ``unset``, the machine's own kernels)."""
    info = determinism.settings()
    started = os.environ.get(determinism.MODE_ENV)
    pinned = not determinism.missing_settings("portable")
    info["mode"] = started or ("unset (the environment pins portable)" if pinned else
                              "unset: this process was not started in a mode, so it has the machine's own "
                              "kernels (as determinism=fast)")
    return info


def _render(proc: dict, commands: list[dict], stages: list[dict]) -> str:
    lines = [f"this process: mode {proc['mode']}; CPU kernels {proc['cpu_capability']}, "
             f"{proc['intra_op_threads']} intra-op thread(s), oneDNN {'on' if proc['mkldnn_enabled'] else 'off'}",
             "(runs do not inherit this: each command below restarts itself in its own mode)", "",
             "mode a run started by each command uses by default, and how to change it:"]
    width = max(len(c["command"]) for c in commands)
    lines += [f"  {c['command']:<{width}}  {c['default']:<8}  {c['change']}" for c in commands]
    if stages:
        lines += ["", "dvc repro stages (dvc.yaml):"]
        lines += [f"  {s['stage']:<{width}}  {s['default']}" for s in stages]
    lines += ["", "portable: the same bits on any x86-64 CPU (generic kernels, one thread); fast: this CPU's own "
              "kernels (same bits on this machine only); unpinned: whatever the shell's environment sets "
              "(a plain shell: as fast). --json prints all of this with every setting."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the mode's environment or the settings in force, or run a command in a mode."""
    p = ArgumentParser(prog="ganaudit determinism", description=determinism.__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    env = sub.add_parser("env", help="print KEY=VALUE lines of the mode's pinned environment")
    env.add_argument("mode", nargs="?", default=determinism.DEFAULT_MODE, choices=determinism.MODES)
    ex = sub.add_parser("exec", help="run a command in the mode's environment: exec [--mode M] -- CMD ...")
    ex.add_argument("--mode", default=determinism.DEFAULT_MODE, choices=determinism.MODES)
    ex.add_argument("command", nargs=argparse.REMAINDER)
    show = sub.add_parser("show", help="the settings of this process, and the mode a run started by each "
                          "command would use by default")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    args = p.parse_args(argv)
    try:
        if args.cmd == "env":
            print("\n".join(f"{k}={v}" for k, v in sorted(determinism.mode_env(args.mode, {}).items())))
        elif args.cmd == "exec":
            determinism.exec_command(args.mode, args.command[1:] if args.command[:1] == ["--"] else args.command)
        else:
            proc, commands, stages = this_process(), command_modes(), dvc_stage_modes()
            print(json.dumps({"this_process": proc, "commands": commands, "dvc_stages": stages}, indent=1,
                             sort_keys=True) if args.json else _render(proc, commands, stages))
    except (ConfigError, OSError) as exc:
        report(str(exc))
        return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE
    return 0
