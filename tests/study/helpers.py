"""Synthetic run records for the study/audit tests (no training)."""

from __future__ import annotations


def record(key: str, *, label: str = "cfg", setting: str = "s", seed: int = 0, status: str = "ok",
           fid_min: float | None = 30.0, fid_final: float | None = None, source: str = "grid",
           bo_round: int | None = None, bo_group: str | None = None, hparams: dict | None = None,
           config: dict | None = None, study: str = "synthetic", diverged_step: int | None = None) -> dict:
    """A CONTRACTS §4-shaped result + the study's fields."""
    evals = [] if fid_min is None else [
        {"step": 10, "fid": fid_min + 5, "is": None, "kid": None, "provenance": {"protocol": "synthetic"}},
        {"step": 20, "fid": fid_min, "is": None, "kid": None, "provenance": {"protocol": "synthetic"}}]
    return {"key": key, "status": status, "reason": None if status == "ok" else f"{status} (synthetic)",
            "diverged_step": diverged_step, "d_steps": 20, "seed": seed, "config_hash": key.split("-s")[0],
            "config": config or {}, "evals": evals, "fid_min": fid_min,
            "fid_final": fid_final if fid_final is not None else fid_min, "wall_time_s": 1.0,
            "run_dir": None, "code_version": "test", "study": study, "label": label, "setting": setting,
            "source": source, "hparams": hparams or {}, "bo_round": bo_round, "bo_group": bo_group,
            "axes": {}, "overrides": []}
