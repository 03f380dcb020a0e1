"""What the runs drew, and how far from real data: the report's sample grids and real-data floor.

* Per configuration (label), the sample grid of its best run (lowest score) at the evaluation step
  that gave that score (``<run_dir>/samples/step_XXXXXX.png``, written during training by
  ``ganaudit.metrics.grids``), copied to ``<out>/samples/<label>.png``, beside a grid of the first 64 real
  test images (``<out>/samples/real_<dataset>_test.png``).
* The protocol's real-data floor (``ganaudit.metrics.floor``) and, per configuration x setting, the
  median score over seeds divided by it.
* For each pair of configurations under the same setting: is their difference larger than the seed
  spread? Stated as "yes" only when their seed ranges [min, max] do not overlap.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from ganaudit.metrics.grids import step_grid_path, write_real_grid
from ganaudit.utils.errors import GanauditError

__all__ = ["best_runs", "grid_of", "floor_of", "floor_summary", "effects_text", "samples_section"]


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(label)).strip("_") or "configuration"


def best_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per label: the run with the lowest finite ``score`` (ties: first key)."""
    scored = runs[runs["score"].notna()].sort_values(["label", "score", "key"])
    return scored.groupby("label", sort=True).head(1)


def grid_of(record: dict, metric: str) -> Path | None:
    """The run's grid at the step of its ``metric`` (fid_min -> fid_min_step), else its last grid."""
    run_dir = record.get("run_dir")
    if not run_dir:
        return None
    step = record.get(f"{metric}_step")
    if step is not None and step_grid_path(run_dir, step).is_file():
        return step_grid_path(run_dir, step)
    grids = sorted((Path(run_dir) / "samples").glob("step_*.png"))
    return grids[-1] if grids else None


def floor_of(records: list[dict], data_root: Path, artifacts_dir: Path, max_images: int) -> dict:
    """{'dataset', 'protocol', 'fid', 'n'} of the study's (single) dataset/protocol, or {'reason'}."""
    from ganaudit.metrics.floor import real_floor
    from ganaudit.metrics.protocols import protocol_for

    pairs = {(str((r.get("config") or {}).get("dataset", {}).get("name")),
              str(((r.get("evals") or [{}])[0].get("provenance") or {}).get("protocol")))
             for r in records if r.get("evals")}
    if len(pairs) != 1:
        return {"reason": f"{len(pairs)} (dataset, protocol) pairs in the study; a floor needs exactly one"}
    dataset, protocol = pairs.pop()
    try:
        n = protocol_for(dataset, protocol).counts(dataset)[1]
        if n > max_images:
            return {"dataset": dataset, "protocol": protocol, "reason": f"it needs {n} images, more than "
                    f"--floor-max-images {max_images} (slow on a CPU); rerun the audit with a higher limit"}
        rec = real_floor(dataset, protocol, data_dir=Path(data_root) / dataset, artifacts_dir=artifacts_dir)
    except GanauditError as exc:
        return {"dataset": dataset, "protocol": protocol, "reason": str(exc)}
    return {"dataset": dataset, "protocol": protocol, "fid": float(rec["fid"]), "n": n,
            "samples": rec["provenance"]["context"]["samples"]}


def _real_grid(dataset: str, data_root: Path, out: Path) -> Path | None:
    from ganaudit.data import open_split

    try:
        view = open_split(dataset, "test", Path(data_root) / dataset)
    except GanauditError:
        return None
    return write_real_grid(view, out / "samples" / f"real_{_slug(dataset)}_test.png")


def _floor_text(floor: dict, variance: pd.DataFrame) -> str:
    if "fid" not in floor:
        return f"Real-data floor: not computed ({floor.get('reason')}).\n\n"
    f = floor["fid"]
    rows = variance[variance["median"].notna()].sort_values("median")
    lines = [f"Real-data floor of protocol `{floor['protocol']}` on `{floor['dataset']}`: FID **{f:.2f}** "
             f"(the first {floor['n']} real train images, `{floor['samples']}`, against the same reference "
             "statistics as every run: the FID of real data at this sample count, `python -m "
             f"ganaudit.metrics.floor {floor['dataset']}`).\n\n",
             "| configuration | setting | median score over seeds | median / floor |\n|---|---|---|---|\n"]
    lines += [f"| {r.label} | {r.setting} | {r.median:.2f} | {r.median / f:.2f} |\n" for r in rows.itertuples()]
    if len(rows):
        best = rows.iloc[0]
        lines.append(f"\nBest configuration: {best['label']} ({best['setting']}), median {best['median']:.2f} "
                     f"= **{best['median'] / f:.2f} x** the floor.\n\n")
    return "".join(lines)


def floor_summary(floor: dict, variance: pd.DataFrame) -> dict:
    """The headline of the floor section for ``metrics.json``: the floor, the best configuration's
    median and their ratio, and how many configuration pairs differ by more than their seed spread."""
    rows = variance[variance["median"].notna()].sort_values("median")
    pairs = list(_setting_pairs(variance))
    out: dict = {"effect_pairs": len(pairs), "effects_larger_than_seed_spread": sum(p[3] for p in pairs)}
    if "fid" not in floor:
        return {**out, "floor": None, "floor_reason": floor.get("reason")}
    out.update(floor={k: floor[k] for k in ("dataset", "protocol", "fid", "n", "samples")})
    if len(rows):
        best = rows.iloc[0]
        out.update(best_configuration=str(best["label"]), best_setting=str(best["setting"]),
                   best_median=float(best["median"]), best_median_over_floor=float(best["median"] / floor["fid"]))
    return out


def _setting_pairs(variance: pd.DataFrame):
    """(setting, a, b, disjoint) for each pair of configurations under one setting, a's median first;
    disjoint: a's seed range ends below b's (the configuration effect is larger than the seed spread)."""
    for setting, grp in variance[variance["median"].notna()].groupby("setting", sort=True, dropna=False):
        rows = list(grp.sort_values("median").itertuples())
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                yield setting, a, b, bool(a.max < b.min)


def effects_text(variance: pd.DataFrame) -> str:
    """One line per pair of configurations under the same setting: medians, seed ranges, and whether
    the ranges are disjoint (the configuration effect is larger than the seed spread)."""
    lines, n_larger = [], 0
    for setting, a, b, disjoint in _setting_pairs(variance):
        n_larger += disjoint
        lines.append(f"- {a.label} vs {b.label} ({setting}): medians {a.median:.2f} vs {b.median:.2f}, "
                     f"seed ranges [{a.min:.2f}, {a.max:.2f}] vs [{b.min:.2f}, {b.max:.2f}]: "
                     + ("**disjoint: the effect is larger than the seed spread**" if disjoint else
                        "overlapping: not separable from seed variation with these seeds") + "\n")
    head = (f"Configuration effects against the seed spread ({n_larger} of {len(lines)} pairs larger than the "
            "spread of their seeds):\n\n" if lines
            else "No two configurations share a setting: no effect to compare.\n")
    return head + "".join(lines) + "\n"


def samples_section(runs: pd.DataFrame, records: list[dict], variance: pd.DataFrame, out: Path, *,
                    metric: str, data_root: Path | None, artifacts_dir: Path | None,
                    floor_max_images: int) -> tuple[str, dict]:
    """(the report's "Samples and the real-data floor" section, :func:`floor_summary` for
    ``metrics.json``); writes ``<out>/samples/*.png``."""
    out = Path(out)
    shutil.rmtree(out / "samples", ignore_errors=True)
    (out / "samples").mkdir(parents=True)
    by_key = {r.get("key"): r for r in records}
    floor = (floor_of(records, data_root, artifacts_dir, floor_max_images) if data_root and artifacts_dir
             else {"reason": "no --data-root/--artifacts given"})
    parts = ["\n## Samples and the real-data floor\n\n", _floor_text(floor, variance), effects_text(variance)]
    real = _real_grid(floor["dataset"], data_root, out) if data_root and floor.get("dataset") else None
    parts.append("Per configuration, its best run's samples (the first 64 evaluation latents of the protocol, "
                 "G in eval mode, at the step of the run's score) beside the first 64 real test images.\n\n"
                 "| configuration (best run) | samples | real test images |\n|---|---|---|\n")
    real_md = f"![real](samples/{real.name})" if real else "_(no prepared test split)_"
    for row in best_runs(runs).itertuples():
        src = grid_of(by_key.get(row.key, {}), metric)
        if src is None:
            cell = "_(no grid: run has no samples/ directory)_"
        else:
            dst = shutil.copyfile(src, (out / "samples").joinpath(f"{_slug(row.label)}.png"))
            cell = f"![{row.label}](samples/{Path(dst).name})"
        parts.append(f"| {row.label} ({row.setting}, seed {row.seed}, {metric} {row.score:.2f}, "
                     f"`{src.name if src else '-'}`) | {cell} | {real_md} |\n")
    return "".join(parts), floor_summary(floor, variance)
