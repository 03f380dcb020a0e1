"""The results store of a study: one JSON record per run, written atomically, read back as a DataFrame.

Layout (``root`` is the study's results directory, e.g. ``results/studies/demo``)::

    root/records/<config_hash>-s<seed>.json     one record per run (the latest attempt)
    root/attempts/<key>.<n>.json                 every earlier attempt that was replaced (failed ones)

A record is the dict returned by ``ganaudit.training.train.train`` (docs/CONTRACTS.md §4: status, reason,
evals with provenance, fid_min, fid_final, wall_time_s, config, config_hash, seed, ...) plus the study's
own fields (study, label, setting, source, hparams, overrides, key, attempt, study_wall_time_s).

Concurrency: each record is written to a temporary file in the same directory, flushed and fsynced, then
``os.replace``d onto its final name. ``os.replace`` is atomic on POSIX, so a reader sees either the old
whole file or the new whole file, never a torn one, whatever number of processes write at once; a
process killed mid-write leaves only a ``.tmp`` file, which readers ignore. Keys are unique per run, so
concurrent runs never write the same final file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ganaudit.study.record_schema import check_record
from ganaudit.utils import io as _io
from ganaudit.utils.errors import DataError
from ganaudit.utils.overrides import override_dict

#: statuses of a run that finished (its result is kept and never recomputed); ``failed`` is retried.
FINISHED = ("ok", "diverged")
STATUSES = ("ok", "diverged", "failed", "interrupted")


def run_key(config_hash: str, seed: int) -> str:
    """The store key of one run: ``<config_hash>-s<seed>`` (the same name as the run's directory)."""
    return f"{config_hash}-s{int(seed)}"


def _json_default(obj: Any) -> Any:
    """JSON for numpy scalars and paths; anything else is a bug in the caller."""
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` as JSON to ``path`` atomically (``ganaudit.utils.io``; numpy scalars allowed)."""
    _io.atomic_write_json(path, payload, indent=1, default=_json_default)


class ResultsStore:
    """One study's run records under ``root`` (see module docstring for the layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self.attempts_dir = self.root / "attempts"

    # ----------------------------------------------------------------- writing
    def put(self, record: dict) -> Path:
        """Store ``record`` (needs ``key`` and ``status``) atomically; an earlier attempt is archived.

        A finished record (ok/diverged) is never overwritten by a later attempt: the store refuses,
        so a study cannot silently replace a result it already reported.
        """
        key, status = record.get("key"), record.get("status")
        if not key or status not in STATUSES:
            raise DataError(
                f"results record needs a 'key' and a 'status' in {STATUSES}; got key={key!r}, "
                f"status={status!r}"
            )
        path = self.records_dir / f"{key}.json"
        previous = self.get(key)
        if previous is not None:
            if previous.get("status") in FINISHED:
                raise DataError(f"{path}: run {key} already finished ({previous['status']}); not replaced")
            attempt = int(previous.get("attempt", 1))
            atomic_write_json(self.attempts_dir / f"{key}.{attempt}.json", previous)
            record = {**record, "attempt": attempt + 1}
        else:
            record = {"attempt": 1, **record}
        atomic_write_json(path, record)
        return path

    # ----------------------------------------------------------------- reading
    def get(self, key: str) -> dict | None:
        """The record stored under ``key``, or None."""
        path = self.records_dir / f"{key}.json"
        if not path.exists():
            return None
        return self._load(path)

    @staticmethod
    def _load(path: Path) -> dict:
        try:
            return check_record(json.loads(path.read_text()), path)  # DataError for an invalid record
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"results record {path} is not valid JSON ({exc}); expected one run record "
                            "written by ganaudit.study") from None

    def records(self) -> list[dict]:
        """All current records, sorted by key (temp files of interrupted writes are ignored)."""
        if not self.records_dir.exists():
            return []
        return [self._load(p) for p in sorted(self.records_dir.glob("*.json"))]

    def keys(self) -> set[str]:
        """Keys of all stored runs (any status)."""
        if not self.records_dir.exists():
            return set()
        return {p.stem for p in self.records_dir.glob("*.json")}

    def finished_keys(self) -> set[str]:
        """Keys of runs that finished (ok or diverged); failed ones are not finished and get retried."""
        return {r["key"] for r in self.records() if r.get("status") in FINISHED}

    def frame(self) -> pd.DataFrame:
        """One row per run: see :func:`records_to_frame`."""
        return records_to_frame(self.records())

    def evals_frame(self) -> pd.DataFrame:
        """One row per (run, evaluated checkpoint): key, label, setting, seed, step, fid, is, kid, provenance."""
        rows = []
        for rec in self.records():
            for ev in rec.get("evals") or []:
                rows.append({"key": rec["key"], "label": rec.get("label"), "setting": rec.get("setting"),
                             "seed": rec.get("seed"), "status": rec.get("status"),
                             "step": ev.get("step"), "fid": ev.get("fid"), "is": ev.get("is"),
                             "kid": ev.get("kid"),
                             "provenance": json.dumps(ev.get("provenance", {}), sort_keys=True)})
        return pd.DataFrame(rows, columns=["key", "label", "setting", "seed", "status", "step", "fid",
                                           "is", "kid", "provenance"])

    def export(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``runs.csv``, ``runs.parquet`` and ``evals.csv`` into ``out_dir``; returns their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        runs = self.frame()
        paths = {"runs_csv": out / "runs.csv", "runs_parquet": out / "runs.parquet",
                 "evals_csv": out / "evals.csv"}
        runs.to_csv(paths["runs_csv"], index=False)
        runs.to_parquet(paths["runs_parquet"], index=False)
        self.evals_frame().to_csv(paths["evals_csv"], index=False)
        return paths


RUN_COLUMNS = ["key", "study", "label", "dataset", "arch", "loss", "norm", "penalty", "setting", "source",
               "bo_group", "bo_round", "seed", "status", "reason", "diverged_step", "fid_min", "fid_final",
               "n_evals", "d_steps", "wall_time_s",
               "study_wall_time_s", "attempt", "config_hash", "code_version", "lr", "beta1", "beta2",
               "n_dis", "lambda", "axes", "overrides"]


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


AXES = ("dataset", "arch", "loss", "norm", "penalty")


def _axes_of(rec: dict) -> dict:
    """dataset/arch/loss/norm/penalty names of a run: from its resolved config (``<axis>.name``),
    else from its study axes/overrides, else None."""
    cfg = rec.get("config") or {}
    axes = rec.get("axes") or {}
    overrides = override_dict(rec.get("overrides") or [], as_text=True)
    out = {}
    for axis in AXES:
        node = cfg.get(axis) if isinstance(cfg, dict) else None
        name = node.get("name") if isinstance(node, dict) else None
        out[axis] = name or axes.get(axis) or overrides.get(axis)
    return out


def records_to_frame(records: Iterable[dict]) -> pd.DataFrame:
    """Flatten run records to one DataFrame row each (columns ``RUN_COLUMNS``).

    ``fid_min`` / ``fid_final`` are floats or NaN (NaN when the run has no finite FID, e.g. it diverged
    before its first evaluation); ``axes`` and ``overrides`` are JSON strings.
    """
    rows = []
    for rec in records:
        hp = rec.get("hparams") or {}
        rows.append({
            "key": rec.get("key"), "study": rec.get("study"), "label": rec.get("label"),
            **_axes_of(rec),
            "setting": rec.get("setting"), "source": rec.get("source"), "bo_group": rec.get("bo_group"),
            "bo_round": rec.get("bo_round"), "seed": rec.get("seed"), "status": rec.get("status"),
            "reason": rec.get("reason"), "diverged_step": rec.get("diverged_step"),
            "fid_min": _finite_or_none(rec.get("fid_min")),
            "fid_final": _finite_or_none(rec.get("fid_final")),
            "n_evals": len(rec.get("evals") or []), "d_steps": rec.get("d_steps"),
            "wall_time_s": rec.get("wall_time_s"), "study_wall_time_s": rec.get("study_wall_time_s"),
            "attempt": rec.get("attempt"), "config_hash": rec.get("config_hash"),
            "code_version": rec.get("code_version"),
            "lr": hp.get("lr"), "beta1": hp.get("beta1"), "beta2": hp.get("beta2"),
            "n_dis": hp.get("n_dis"), "lambda": hp.get("lambda"),
            "axes": json.dumps(rec.get("axes") or {}, sort_keys=True),
            "overrides": json.dumps(rec.get("overrides") or []),
        })
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in ("fid_min", "fid_final", "wall_time_s", "study_wall_time_s", "lr", "beta1", "beta2",
                "lambda"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame
