"""``ganaudit weights {fetch,ensure} NAME`` (= ``python -m ganaudit.metrics.fetch_weights``): get the
feature-extractor weights and check them against their pins (ganaudit.metrics.fetch_weights).

    ganaudit weights fetch inception_2015_12_05 --out artifacts/weights     # download, check sha256
    ganaudit weights ensure digits --out artifacts/weights                   # the dataset's default protocol

Exit 0 ok, 1 missing or unpinned weights, 2 for a bad option.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganaudit.cli.args import ArgumentParser
from ganaudit.utils.errors import GanauditError, WeightsError
from ganaudit.utils.exits import exit_code, report
from ganaudit.utils.log import setup_cli_logging

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="ganaudit weights", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fetch", "ensure"])
    parser.add_argument("name", help="fetch: a weights name (inception); ensure: a dataset name")
    parser.add_argument("--out", type=Path, default=Path("artifacts/weights"))
    parser.add_argument("--data-dir", type=Path, default=None, help="ensure: default data/prepared/<dataset>")
    parser.add_argument("--retrain", action="store_true",
                        help="ensure digits: retrain the classifier here first (kept if its bits equal the pin; "
                             "default: the pinned reference file shipped in the package)")
    args = parser.parse_args(argv)
    setup_cli_logging()
    # deferred: a bad argument is refused before torch is imported
    from ganaudit.metrics.fetch_weights import (
        SOURCES,
        ensure,
        fetch,
    )

    try:
        if args.command == "ensure":
            print(json.dumps(ensure(args.name, args.out, args.data_dir or Path("data/prepared") / args.name,
                                    retrain=args.retrain)))
            return 0
        if args.name not in SOURCES:
            raise WeightsError(f"unknown weights '{args.name}'; expected one of {sorted(SOURCES)}")
        print(fetch(args.name, args.out))
    except GanauditError as exc:
        report(str(exc))
        return exit_code(exc)
    return 0
