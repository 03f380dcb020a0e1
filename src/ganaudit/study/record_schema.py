"""The schema of a results record (one run of a study), checked whenever a record is read back, so
that a hand-edited or damaged record is refused instead of being reported by an audit.

Checked: required fields and their types; ``status`` in ok/diverged/failed/interrupted; the key is the file's
name and ends in ``-s<seed>``; seeds and D steps are integers >= 0; every FID >= 0, IS >= 1, MS-SSIM
in [0, 1], KID finite (it is unbiased, so slightly negative values are legal); ``fid_min`` and
``fid_final`` are what the ``evals`` list gives (ganaudit.metrics.provenance.summarize); a finished
run that evaluated has a ``fid_min``.

    check_record(record, path)   # DataError listing every problem, naming the file
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from ganaudit.metrics.provenance import summarize
from ganaudit.utils.errors import DataError

__all__ = ["REQUIRED", "check_record", "record_problems"]

#: field -> accepted python types (None allowed where listed)
REQUIRED: dict[str, tuple[type, ...]] = {
    "key": (str,), "status": (str,), "seed": (int,), "evals": (list,),
    "fid_min": (int, float, type(None)), "fid_final": (int, float, type(None)),
}
STATUSES = ("ok", "diverged", "failed", "interrupted")
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "fid": (0.0, math.inf), "is": (1.0, math.inf), "ms_ssim": (0.0, 1.0), "kid": (-math.inf, math.inf),
}


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _metric_problem(name: str, value: Any, where: str) -> str | None:
    lo, hi = METRIC_RANGES[name]
    if value is None:
        return None
    if not _number(value) or not math.isfinite(value) or not lo <= value <= hi:
        return f"{where} {name} = {value!r}: expected a finite number in [{lo:g}, {hi:g}] or null"
    return None


def _field_problems(rec: dict, stem: str | None) -> list[str]:
    out = []
    for name, kinds in REQUIRED.items():
        if name not in rec:
            out.append(f"field '{name}' is missing")
        elif not isinstance(rec[name], kinds) or isinstance(rec[name], bool):
            out.append(f"field '{name}' = {rec[name]!r}: expected {' or '.join(k.__name__ for k in kinds)}")
    if out:
        return out
    if rec["status"] not in STATUSES:
        out.append(f"status = {rec['status']!r}: expected one of {STATUSES}")
    if rec["seed"] < 0 or not rec["key"].endswith(f"-s{rec['seed']}"):
        out.append(f"key {rec['key']!r} / seed {rec['seed']!r}: expected a seed >= 0 and a key ending in -s<seed>")
    if stem is not None and rec["key"] != stem:
        out.append(f"key {rec['key']!r}: expected the file's name {stem!r}")
    for name in ("d_steps", "diverged_step"):
        v = rec.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            out.append(f"field '{name}' = {v!r}: expected an integer >= 0 or null")
    return out


def _eval_problems(rec: dict) -> list[str]:
    out = []
    for i, ev in enumerate(rec["evals"]):
        if not isinstance(ev, dict) or not isinstance(ev.get("step"), int) or ev["step"] < 0:
            out.append(f"evals[{i}]: expected an object with an integer step >= 0")
            continue
        out += [p for m in METRIC_RANGES if (p := _metric_problem(m, ev.get(m), f"evals[{i}]"))]
    for name in ("fid_min", "fid_final"):
        if p := _metric_problem("fid", rec.get(name), "field"):
            out.append(p.replace("field fid", f"field '{name}'"))
    return out


def _consistency_problems(rec: dict) -> list[str]:
    if any(not isinstance(e, dict) or "step" not in e for e in rec["evals"]):
        return []
    want = summarize(rec["evals"])
    out = [f"field '{name}' = {rec.get(name)!r}: the evals give {want[name]!r}"
           for name in ("fid_min", "fid_final") if rec.get(name) != want[name]]
    if rec["status"] == "ok" and rec["evals"] and rec.get("fid_min") is None:
        out.append("status ok with evaluations but no fid_min")
    return out


CHECKS: tuple[Callable[[dict], list[str]], ...] = (_eval_problems, _consistency_problems)


def record_problems(rec: Any, stem: str | None = None) -> list[str]:
    """Every schema problem of ``rec`` (empty if valid); ``stem``: the file name it was read from."""
    if not isinstance(rec, dict):
        return [f"expected a JSON object, got {type(rec).__name__}"]
    out = _field_problems(rec, stem)
    if out:
        return out
    for check in CHECKS:
        out += check(rec)
    return out


def check_record(rec: Any, path: str | Path) -> dict:
    """``rec`` if it satisfies the schema, else DataError naming ``path`` and every problem."""
    problems = record_problems(rec, Path(path).stem)
    if problems:
        raise DataError(f"results record {path} is invalid: {'; '.join(problems)}. Expected a record written "
                        "by ganaudit.study; restore it, or delete it and rerun the study to recompute that run")
    return rec
