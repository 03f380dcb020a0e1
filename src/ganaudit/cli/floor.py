"""``ganaudit floor DATASET`` (= ``python -m ganaudit.metrics.floor``): the real-data floor of a protocol
(ganaudit.metrics.floor), printed as the evaluation record JSON.

    ganaudit floor digits [--protocol auto] [--data-dir data/prepared/digits] [--artifacts artifacts]
                          [--determinism portable|fast]

Exit 0 ok, 1 missing data or weights, 2 for a bad option.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganaudit.cli.args import ArgumentParser
from ganaudit.utils.determinism import add_mode_flag, enforce
from ganaudit.utils.errors import GanauditError
from ganaudit.utils.exits import exit_code, report

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="ganaudit floor", description=__doc__.split("\n\n")[0])
    p.add_argument("dataset")
    p.add_argument("--protocol", default="auto")
    p.add_argument("--data-dir", default=None, help="prepared store (default data/prepared/<dataset>)")
    p.add_argument("--artifacts", default="artifacts")
    add_mode_flag(p, "the floor")
    args = p.parse_args(argv)
    try:
        enforce(args.determinism)  # the runs' kernels, and their reference statistics
        # deferred: a bad argument is refused before torch is imported
        from ganaudit.metrics.floor import real_floor

        rec = real_floor(args.dataset, args.protocol, artifacts_dir=Path(args.artifacts),
                         data_dir=Path(args.data_dir or Path("data/prepared") / args.dataset))
    except GanauditError as exc:
        report(str(exc))
        return exit_code(exc)  # 2 for a bad option, 1 for missing data or weights
    print(json.dumps(rec, indent=2, sort_keys=True, default=str))
    return 0
