"""``ganaudit audit compare COMMITTED FRESH`` (= ``python -m ganaudit.audit compare``): a fresh study run
against a committed report, bit for bit (ganaudit.audit.compare), as a table.

Exit 0 when every committed run is present in the fresh side and equal, 1 when some differ or are
missing, 2 for an unreadable input.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ganaudit.audit.compare import RunDiff, compare_runs, load_runs
from ganaudit.cli.args import ArgumentParser
from ganaudit.utils.errors import DataError
from ganaudit.utils.exits import EXIT_USAGE, report

__all__ = ["main", "print_table"]


def _cell(value, other, show_hex: bool) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value!r}" + (f"\n{value.hex()}" if show_hex and isinstance(other, float) else "")
    return str(value)


def print_table(diffs: list[RunDiff], only_fresh: list[str], console=None) -> None:
    """A rich table: key, label, status, committed and fresh FID-min / FID-final, verdict."""
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
        same_status = not f or f["status"] == d.committed["status"]
        status = str(d.committed["status"]) + ("" if same_status else f" / {f['status']}")
        table.add_row(d.key, d.label, status, cells[0], fresh_cells[0], cells[1], fresh_cells[1], verdict)
    console.print(table)
    n_eq = sum(d.equal for d in diffs)
    n_missing = sum(d.fresh is None for d in diffs)
    console.print(f"{n_eq} of {len(diffs)} committed runs bit-identical; {len(diffs) - n_eq - n_missing} differ; "
                  f"{n_missing} missing from the fresh run; {len(only_fresh)} only in the fresh run"
                  + (f" ({', '.join(only_fresh[:5])}{', ...' if len(only_fresh) > 5 else ''})" if only_fresh else ""))


def main(argv: list[str] | None = None) -> int:
    """``ganaudit audit compare COMMITTED FRESH``: 0 all equal, 1 some differ/missing, 2 bad input."""
    p = ArgumentParser(prog="ganaudit audit compare", description=__doc__.splitlines()[0])
    p.add_argument("committed", help="e.g. audits/reports/demo/runs.csv")
    p.add_argument("fresh", help="e.g. results/studies/demo (or its runs.csv)")
    args = p.parse_args(argv)
    try:
        committed, fresh = load_runs(args.committed), load_runs(args.fresh)
    except DataError as exc:
        report(str(exc))
        return EXIT_USAGE
    if not committed:
        report(f"no runs in '{args.committed}'; expected the committed report's runs.csv")
        return EXIT_USAGE
    diffs, only_fresh = compare_runs(committed, fresh)
    print_table(diffs, only_fresh)
    return 0 if all(d.equal for d in diffs) else 1
