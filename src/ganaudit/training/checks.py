"""Checks made before any computing: outputs writable, data prepared, protocol known; and the exit
code of a finished run (docs/CONTRACTS.md, "Errors and exit codes").

    check_writable(Path("runs/abc-s0"), "run directory")   # OutputError before training starts
    prepare_hint("cifar10")    # the command that prepares a dataset, a stage that exists in dvc.yaml
    run_exit_code(result)      # 0 ok/diverged (a result), 1 failed (one line on stderr)
"""

from __future__ import annotations

import os
from pathlib import Path

from ganaudit.utils.errors import OutputError
from ganaudit.utils.exits import EXIT_FAILURE, EXIT_OK, report

__all__ = ["check_writable", "prepare_hint", "params_datasets", "run_exit_code"]


def check_writable(path: str | Path, what: str, *, is_file: bool = False) -> None:
    """OutputError unless ``path`` (a directory, or a file when ``is_file``) can be created or written.

    Nothing is created: the nearest existing ancestor must be a writable directory (or ``path``
    itself an existing writable file / directory)."""
    path = Path(path).absolute()
    if path.exists():
        ok = os.access(path, os.W_OK) and (path.is_file() if is_file else path.is_dir())
        probe = path
    else:
        probe = path.parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        ok = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
    if not ok:
        raise OutputError(f"{what} '{path}' cannot be written ('{probe}' is not a writable "
                          f"{'file' if probe == path and is_file else 'directory'}); expected a writable "
                          "location: fix its permissions or choose another path")


def params_datasets(root: str | Path | None = None) -> list[str]:
    """The datasets listed in ``<root>/params.yaml`` (the ``prepare@<name>`` stages of dvc.yaml)."""
    import yaml

    root = Path(root if root is not None else os.environ.get("GANAUDIT_ROOT", "."))
    try:
        return [str(d) for d in (yaml.safe_load((root / "params.yaml").read_text()) or {}).get("datasets", [])]
    except (OSError, yaml.YAMLError, AttributeError):
        return []


def prepare_hint(name: str, root: str | Path | None = None) -> str:
    """The command that prepares dataset ``name``: its DVC stage when params.yaml lists it, else the CLI."""
    cli = f"`python -m ganaudit.data prepare {name}`"
    if name in params_datasets(root):
        return f"`dvc repro prepare@{name}` (or {cli})"
    return (f"{cli} (`dvc repro prepare@{name}` exists only after adding '{name}' to the datasets list "
            "of params.yaml)")


def run_exit_code(result: dict) -> int:
    """0 for a run that finished (``ok``, or ``diverged``: a result, reported on stderr); 1 with a
    one-line message for ``failed``."""
    status = result.get("status")
    where = result.get("run_dir") or "?"
    if status == "ok":
        return EXIT_OK
    if status == "diverged":
        report(f"run {where} diverged at D step {result.get('diverged_step')} ({result.get('reason')}); "
               "recorded as a result (status: diverged)", prefix="note: ")
        return EXIT_OK
    report(f"run {where} failed: {result.get('reason')}; details in {where}/result.json; rerun the same "
           "command to resume from its last checkpoint")
    return EXIT_FAILURE


def preflight_train(cfg, rdir: Path, *, need_data: bool, check_protocol: bool = True) -> None:
    """Before a run writes or trains anything: its run directory (and evaluation record) writable,
    its evaluation protocol known for its dataset, its prepared training split present.

    ``need_data`` / ``check_protocol`` are False when the caller injects its own data module /
    evaluation function. Raises OutputError / ConfigError / DataError naming the path or option."""
    check_writable(rdir, "run directory")
    name = str(cfg.dataset.name)
    if cfg.eval.enabled:
        if check_protocol:
            from ganaudit.metrics.protocols import protocol_for

            protocol_for(name, str(cfg.eval.protocol))
        if cfg.eval.record_path:
            check_writable(cfg.eval.record_path, "option 'eval.record_path'", is_file=True)
    if need_data:
        from ganaudit.data import open_split

        open_split(name, "train", cfg.dataset.data_dir)
