"""Checks made before any computing: outputs writable, data prepared, protocol known; and the exit
code of a finished run (docs/CONTRACTS.md, "Errors and exit codes").

    preflight_train(cfg, run_dir, need_data=True)   # OutputError / ConfigError / DataError before training
    run_exit_code(result)      # 0 ok/diverged (a result), 1 failed (one line on stderr)

Whether a path can be written is ``ganaudit.utils.io.check_writable``; how a dataset is prepared,
``ganaudit.data.stages.prepare_hint``.
"""

from __future__ import annotations

from pathlib import Path

import ganaudit.data
from ganaudit.metrics.protocols import protocol_for
from ganaudit.utils.exits import EXIT_FAILURE, EXIT_OK, report
from ganaudit.utils.io import check_writable

__all__ = ["preflight_train", "run_exit_code"]


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
            protocol_for(name, str(cfg.eval.protocol))
        if cfg.eval.record_path:
            check_writable(cfg.eval.record_path, "option 'eval.record_path'", is_file=True)
    if need_data:
        ganaudit.data.open_split(name, "train", cfg.dataset.data_dir)
