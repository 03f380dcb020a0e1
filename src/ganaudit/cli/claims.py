"""``ganaudit audit claims STUDY [--claims FILE] [--out DIR]`` (= ``python -m ganaudit.audit claims ...``).

STUDY is a results directory (``records/`` inside) or a study name (``results/studies/STUDY``). The
claims file defaults to ``audits/claims/<study name>.yaml``, the output to ``results/claims/<study name>``.
Writes claims.csv, claims.json, claims.md and one PNG per claim (docs/claims.md) and prints the verdict
table. Exit 0 with any verdict, 2 on a bad option or claims file, 1 on missing or bad records.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ganaudit.cli.args import ArgumentParser
from ganaudit.utils.errors import ConfigError, DataError, GanauditError
from ganaudit.utils.exits import exit_code, report

__all__ = ["add_arguments", "claims_main", "main"]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("study", help="results directory of a study, or its name (results/studies/<name>)")
    p.add_argument("--claims", default=None, help="claims YAML (default: audits/claims/<study name>.yaml)")
    p.add_argument("--out", default=None, help="output directory (default: results/claims/<study name>)")
    p.add_argument("--metric", default=None, choices=("fid_min", "fid_final"),
                   help="score of a run for every claim (default: each claim's own, fid_min)")
    return p


def _results_dir(study: str) -> Path:
    path = Path(study)
    if (path / "records").is_dir():
        return path
    named = Path("results") / "studies" / study
    if (named / "records").is_dir():
        return named
    raise DataError(f"study '{study}': neither {path}/records nor {named}/records exists; expected a results "
                    "directory or the name of a study that has run (python -m ganaudit.study study=<name>)")


def claims_main(args: argparse.Namespace) -> int:
    """Evaluate the claims of ``args.study``; returns the exit code (one-line errors, no traceback)."""
    # deferred: pandas and matplotlib load only once the arguments are accepted
    from ganaudit.audit.claims_report import write_claims
    from ganaudit.audit.claims_spec import load_claims
    from ganaudit.study.store import ResultsStore

    try:
        results = _results_dir(args.study)
        claims_path = Path(args.claims) if args.claims else Path("audits/claims") / f"{results.name}.yaml"
        cf = load_claims(claims_path)  # checked before the store is read
        if args.metric:
            cf = dataclasses.replace(cf, claims=tuple(dataclasses.replace(c, metric=args.metric) for c in cf.claims))
        runs = ResultsStore(results).frame()
        if runs.empty:
            raise DataError(f"no run records in {results / 'records'}; run the study first")
        out = Path(args.out) if args.out else Path("results") / "claims" / results.name
        if out.exists() and not out.is_dir():
            raise ConfigError(f"option '--out' = '{out}': exists and is not a directory")
        result = write_claims(runs, cf, out)
    except GanauditError as exc:
        report(str(exc))
        return exit_code(exc)
    for r in result["verdicts"].itertuples():
        print(f"{r.verdict:>13}  {r.claim}  ({r.covered}/{r.parts} parts covered)")
    print(f"claims written: {result['paths']['md']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = add_arguments(ArgumentParser(prog="ganaudit audit claims", description=__doc__,
                                              formatter_class=argparse.RawDescriptionHelpFormatter))
    return claims_main(p.parse_args(argv))
