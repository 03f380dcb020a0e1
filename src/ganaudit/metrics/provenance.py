"""Provenance of every reported number: one appended JSON line per evaluation.

A record carries the metric values and everything needed to recompute them: protocol (with all its
choices), dataset and real split, split manifest digest, extractor name and weights sha256, N real
and N fake, dtype, latent seed, training seed, config hash, step, run id, git commit, library
versions, the determinism settings in force (ganaudit.utils.determinism.settings) and the UTC time.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy
import torch

import ganaudit
from ganaudit.utils.determinism import settings
from ganaudit.utils.repo import code_version


def git_commit() -> str:
    """The code version (``ganaudit.utils.repo.code_version``: ``<version>+g<sha>[.dirty]``)."""
    return code_version()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that can change a number."""
    out = {"python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__,
           "ganaudit": ganaudit.__version__}
    try:
        # deferred: an optional entry, recorded when installed
        import torchmetrics

        out["torchmetrics"] = torchmetrics.__version__
    except ImportError:  # pragma: no cover
        pass
    return out


def determinism_settings() -> dict:
    """The kernel-choice settings in force (mode, pinned environment, torch flags, CPU capability)."""
    return settings()


def make_record(values: dict[str, Any], *, protocol: dict, dataset: str, manifest_digest: str,
                extractor: str, weights_sha256: str, n_real: int, n_fake: int,
                context: dict | None = None) -> dict:
    """The JSON-serializable record of one evaluation (values + provenance)."""
    context = dict(context or {})
    prov = {
        "protocol": protocol["name"], "protocol_spec": protocol, "dataset": dataset,
        "real_split": protocol["real_split"], "split_manifest_digest": manifest_digest,
        "extractor": extractor, "extractor_weights_sha256": weights_sha256,
        "n_real": n_real, "n_fake": n_fake, "dtype": protocol["dtype"],
        "latent_seed": protocol["latent_seed"], "seed": context.pop("seed", None),
        "config_hash": context.pop("config_hash", None), "step": context.pop("step", None),
        "run_id": context.pop("run_id", None), "context": context, "git_commit": git_commit(),
        "versions": library_versions(), "argv": sys.argv[:1], "determinism": determinism_settings(),
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return {**values, "provenance": prov}


def append_record(path: Path | str, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path`` (created with its folder; flushed and fsynced)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, allow_nan=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_records(path: Path | str) -> list[dict]:
    """All records of a JSON-lines file, in order."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def summarize(evals: list[dict], key: str = "fid") -> dict:
    """Model score of a run's per-checkpoint records (spec §6.2): the minimum over checkpoints (what
    the study's optimizer saw) and the final value, with their steps. Records are
    ``{"step": int, key: float, ...}`` (the ``evals`` list of result.json); a NaN checkpoint's
    sentinel FID (31337) counts like any value. Empty input gives Nones."""
    scored = [e for e in evals if e.get(key) is not None]
    if not scored:
        return {f"{key}_min": None, f"{key}_min_step": None, f"{key}_final": None, f"{key}_final_step": None}
    best = min(scored, key=lambda e: e[key])
    last = max(scored, key=lambda e: e["step"])
    return {f"{key}_min": best[key], f"{key}_min_step": best["step"],
            f"{key}_final": last[key], f"{key}_final_step": last["step"]}
