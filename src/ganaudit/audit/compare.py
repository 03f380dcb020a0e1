"""Bit-for-bit check of a fresh study run against a committed report.

    ganaudit audit compare audits/reports/demo/runs.csv results/studies/demo      (ganaudit.cli.compare)

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

__all__ = ["FIELDS", "RunDiff", "load_runs", "compare_runs"]

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
                reader = csv.DictReader(fh)
                recs = list(reader)
            missing = [c for c in ("key", *FIELDS) if c not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"'{path}' has no {', '.join(repr(c) for c in missing)} column"
                                f"{'s' if len(missing) > 1 else ''}; expected a runs.csv of a study or report "
                                f"(columns key, {', '.join(FIELDS)})")
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
