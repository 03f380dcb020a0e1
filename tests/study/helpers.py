"""Synthetic run records for the study/audit tests (no training)."""

from __future__ import annotations


def record(key: str, *, label: str = "cfg", setting: str = "s", seed: int | None = None, status: str = "ok",
           fid_min: float | None = 30.0, fid_final: float | None = None, source: str = "grid",
           bo_round: int | None = None, bo_group: str | None = None, hparams: dict | None = None,
           config: dict | None = None, study: str = "synthetic", diverged_step: int | None = None) -> dict:
    """A CONTRACTS §4-shaped result + the study's fields (valid under ganaudit.study.record_schema:
    the seed is the key's ``-s<seed>`` unless given, fid_min/fid_final are what the evals give)."""
    seed = int(key.rsplit("-s", 1)[1]) if seed is None else seed
    final = fid_min if fid_final is None else fid_final
    assert fid_min is None or final >= fid_min, "fid_final below fid_min: not a valid record"
    evals = [] if fid_min is None else [
        {"step": 10, "fid": fid_min, "is": None, "kid": None, "provenance": {"protocol": "synthetic"}},
        {"step": 20, "fid": final, "is": None, "kid": None, "provenance": {"protocol": "synthetic"}}]
    if fid_min is not None and final == fid_min:
        evals[0]["fid"] = fid_min + 5  # min at the last checkpoint
    return {"key": key, "status": status, "reason": None if status == "ok" else f"{status} (synthetic)",
            "diverged_step": diverged_step, "d_steps": 20, "seed": seed, "config_hash": key.split("-s")[0],
            "config": config or {}, "evals": evals, "fid_min": fid_min,
            "fid_final": fid_final if fid_final is not None else fid_min, "wall_time_s": 1.0,
            "run_dir": None, "code_version": "test", "study": study, "label": label, "setting": setting,
            "source": source, "hparams": hparams or {}, "bo_round": bo_round, "bo_group": bo_group,
            "axes": {}, "overrides": []}
