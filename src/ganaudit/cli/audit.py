"""``ganaudit audit --results results/studies/demo --out audits/reports/demo [options]`` (= ``python -m
ganaudit.audit``): write a study's audit report (ganaudit.audit.report).

``ganaudit audit compare audits/reports/demo/runs.csv results/studies/demo``: a fresh run against the
committed report, bit for bit (ganaudit.cli.compare). ``ganaudit audit verdict ...``: check one reported
FID against seeds (ganaudit.cli.verdict). ``ganaudit audit claims STUDY [--claims FILE] [--out DIR]``: verdicts
of a study's findings (ganaudit.cli.claims).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ganaudit.audit.report import AuditOptions, write_audit
from ganaudit.cli.args import ArgumentParser
from ganaudit.cli.claims import main as claims
from ganaudit.cli.compare import main as compare
from ganaudit.utils.determinism import add_mode_flag, enforce
from ganaudit.utils.errors import GanauditError
from ganaudit.utils.exits import exit_code, report

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="ganaudit audit", description=__doc__)
    p.add_argument("--results", required=True, help="the study's results directory (records/ inside)")
    p.add_argument("--out", required=True, help="directory for report.md, CSVs, PNGs, metrics.json")
    p.add_argument("--baselines", default="audits/baselines/published_models.csv",
                   help="published numbers to compare with ('' to skip)")
    p.add_argument("--data-root", default="data/prepared",
                   help="prepared datasets (real-data floor and real-image grid; '' to skip)")
    p.add_argument("--artifacts", default="artifacts", help="extractor weights and reference statistics")
    add_mode_flag(p, "the real-data floor")
    for f in dataclasses.fields(AuditOptions):
        kind = (lambda s: s.lower() in ("1", "true", "yes")) if f.type in (bool, "bool") else \
            {"int": int, "float": float, "str": str}.get(str(f.type), str)
        p.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=f.default,
                       help=f"(default: {f.default})")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compare"]:
        return compare(argv[1:])
    if argv[:1] == ["claims"]:
        return claims(argv[1:])
    args = parser().parse_args(argv)
    opts = AuditOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(AuditOptions)})
    try:
        if args.data_root:  # the floor is computed here: with the kernels (and statistics) of the runs
            enforce(args.determinism)
        paths = write_audit(args.results, args.out, opts, baselines=args.baselines or None,
                            data_root=args.data_root or None, artifacts_dir=args.artifacts or None)
    except GanauditError as exc:
        report(str(exc))
        return exit_code(exc)  # 2 for a bad option, 1 for bad or missing records
    print(f"audit written: {Path(paths['report'])}")
    return 0
