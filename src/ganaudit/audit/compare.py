"""Bit-for-bit check of a fresh study run against a committed report.

    python -m ganaudit.audit compare audits/reports/demo/runs.csv results/studies/demo

Each side is a ``runs.csv`` (the audit report's or the results store's export) or a results directory
(``records/*.json``). For every run key of the committed side it compares ``status``, ``fid_min`` and
``fid_final`` exactly (the float's bits, shown as ``float.hex`` when they differ) and prints a table;
the exit status is 0 only when every committed run is present in the fresh side and equal, else 1
(2 for an unreadable input). Runs only in the fresh side are listed but do not fail the check.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ganaudit.utils.errors import DataError

__all__ = ["FIELDS", "RunDiff", "load_runs", "compare_runs", "print_table", "main"]

FIELDS = ("status", "fid_min", "fid_final")


@dataclass(frozen=True)
class RunDiff:
    """One committed run's comparison. ``fresh`` is None when the fresh side lacks the run."""

    key: str
    label: str
    committed: dict
    fresh: dict | None
    differing: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return self.fresh is not None and not self.differing


def _number(value) -> float | None:
    """A CSV cell or JSON value as float; '' / None / NaN -> None (no finite FID)."""
    if value is None or value == "":
        return None
    x = float(value)
    return None if math.isnan(x) else x


def _row(rec: dict) -> dict:
    return {"label": str(rec.get("label") or ""), "status": rec.get("status") or None,
            "fid_min": _number(rec.get("fid_min")), "fid_final": _number(rec.get("fid_final"))}


def load_runs(path: str | Path) -> dict[str, dict]:
    """``{key: {label, status, fid_min, fid_final}}`` from a runs.csv or a results directory.

    CSV floats are parsed from their decimal text (pandas writes the shortest round-trip repr, so the
    bits survive); records are read as JSON. DataError for a missing or unreadable input."""
    path = Path(path)
    try:
        if path.is_dir():
            files = sorted((path / "records").glob("*.json"))
            if not files:
                raise DataError(f"no run records in '{path}/records'; expected a results directory of a study")
            recs = [json.loads(f.read_text()) for f in files]
        else:
            with open(path, newline="", encoding="utf-8") as fh:
                recs = list(csv.DictReader(fh))
            if recs and "key" not in recs[0]:
                raise DataError(f"'{path}' has no 'key' column; expected a runs.csv of a study or report")
        return {str(r["key"]): _row(r) for r in recs}
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"cannot read runs from '{path}': {exc}; expected a runs.csv or a results directory") from None


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex()
    return a == b


def compare_runs(committed: dict[str, dict], fresh: dict[str, dict]) -> tuple[list[RunDiff], list[str]]:
    """Per committed key (sorted): which FIELDS differ; and the keys found only in ``fresh``."""
    diffs = []
    for key in sorted(committed):
        c, f = committed[key], fresh.get(key)
        differing = () if f is None else tuple(k for k in FIELDS if not _same(c[k], f[k]))
        diffs.append(RunDiff(key, c["label"], c, f, differing))
    return diffs, sorted(set(fresh) - set(committed))


def _cell(value, other, show_hex: bool) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value!r}" + (f"\n{value.hex()}" if show_hex and isinstance(other, float) else "")
    return str(value)


def print_table(diffs: list[RunDiff], only_fresh: list[str], console=None) -> None:
    """A rich table: key, label, status, committed and fresh FID-min / FID-final, verdict."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if Console().is_terminal else 180)  # a log or CI: no truncation
    table = Table(title="committed vs fresh (bit for bit)")
    for col in ("key", "label", "status", "fid_min committed", "fid_min fresh", "fid_final committed",
                "fid_final fresh", "equal?"):
        table.add_column(col, overflow="fold")  # numbers are never cut short
    for d in diffs:
        f = d.fresh or {}
        cells = [_cell(d.committed[k], f.get(k), k in d.differing) for k in ("fid_min", "fid_final")]
        fresh_cells = [_cell(f.get(k), d.committed[k], k in d.differing) for k in ("fid_min", "fid_final")]
        verdict = "[green]yes[/]" if d.equal else ("[red]missing[/]" if d.fresh is None
                                                     else f"[red]no: {', '.join(d.differing)}[/]")
        status = str(d.committed["status"]) + ("" if not f or f["status"] == d.committed["status"] else f" / {f['status']}")
        table.add_row(d.key, d.label, status, cells[0], fresh_cells[0], cells[1], fresh_cells[1], verdict)
    console.print(table)
    n_eq = sum(d.equal for d in diffs)
    n_missing = sum(d.fresh is None for d in diffs)
    console.print(f"{n_eq} of {len(diffs)} committed runs bit-identical; {len(diffs) - n_eq - n_missing} differ; "
                  f"{n_missing} missing from the fresh run; {len(only_fresh)} only in the fresh run"
                  + (f" ({', '.join(only_fresh[:5])}{', ...' if len(only_fresh) > 5 else ''})" if only_fresh else ""))


def main(argv: list[str] | None = None) -> int:
    """``python -m ganaudit.audit compare COMMITTED FRESH``: 0 all equal, 1 some differ/missing, 2 bad input."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m ganaudit.audit compare", description=__doc__.splitlines()[0])
    p.add_argument("committed", help="e.g. audits/reports/demo/runs.csv")
    p.add_argument("fresh", help="e.g. results/studies/demo (or its runs.csv)")
    args = p.parse_args(argv)
    try:
        committed, fresh = load_runs(args.committed), load_runs(args.fresh)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not committed:
        print(f"error: no runs in '{args.committed}'; expected the committed report's runs.csv", file=sys.stderr)
        return 2
    diffs, only_fresh = compare_runs(committed, fresh)
    print_table(diffs, only_fresh)
    return 0 if all(d.equal for d in diffs) else 1
