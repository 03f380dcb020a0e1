"""``ganaudit refstats DATASET`` (= ``python -m ganaudit.metrics.refstats``): compute (or find) the cached
reference statistics of a dataset's real split (ganaudit.metrics.refstats); print their path and key.

    ganaudit refstats digits --data-dir data/prepared/digits --artifacts artifacts [--determinism portable]
"""

from __future__ import annotations

import json
from pathlib import Path

from ganaudit.cli.args import ArgumentParser
from ganaudit.utils.determinism import add_mode_flag, enforce
from ganaudit.utils.exits import run_cli
from ganaudit.utils.log import setup_cli_logging

__all__ = ["main"]


def _refstats(argv: list[str] | None) -> int:
    parser = ArgumentParser(prog="ganaudit refstats",
                            description="Compute (or find) the cached reference statistics of a dataset.")
    parser.add_argument("dataset")
    parser.add_argument("--protocol", default="auto")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: data/prepared/<dataset>")
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    add_mode_flag(parser, "the statistics")
    args = parser.parse_args(argv)
    setup_cli_logging()
    enforce(args.determinism)  # the runs' kernels: statistics keyed portable-cpu (or fast-cpu)
    # deferred: a bad argument is refused before torch is imported
    from ganaudit.data import open_split
    from ganaudit.metrics.features import EXTRACTORS
    from ganaudit.metrics.protocols import protocol_for
    from ganaudit.metrics.refstats import cache_path, get_or_compute

    proto = protocol_for(args.dataset, args.protocol)
    view = open_split(args.dataset, proto.real_split, args.data_dir or Path("data/prepared") / args.dataset)
    extractor = EXTRACTORS.get(proto.extractor)(args.artifacts / "weights")
    stats = get_or_compute(proto, args.dataset, view, extractor, args.artifacts)
    print(json.dumps({"path": str(cache_path(args.artifacts, stats.meta)), **stats.meta}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Print where the statistics are, with their key fields; exit 1 for missing data or weights, 2 for options."""
    return run_cli(_refstats, argv)
