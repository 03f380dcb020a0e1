"""Training curves of a study: FID and losses vs D step, one line per configuration.

Sources: FID from each run record's evaluations (``evals``: step, fid); losses from the run's Lightning
CSV log ``<run_dir>/logs/version_0/metrics.csv`` (columns ``d_step``, ``loss/d``, ``loss/g``), skipped
when the run directory is not on this machine. Output (``write_curves``)::

    curves.csv        config, seed, d_step, metric, value: one row per run, D step and metric
    curves_fid.png    FID vs D step (log scale)
    curves_loss.png   D loss and G loss vs D step

A configuration is the study's label plus its hyperparameter setting; its line is the median over
seeds at each D step, the shaded band the seeds' min-max. Colours are fixed per configuration.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["CURVE_COLUMNS", "LOSS_METRICS", "config_name", "curve_frame", "draw_curves", "write_curves"]

CURVE_COLUMNS = ["config", "seed", "d_step", "metric", "value"]
LOSS_METRICS = ("loss/d", "loss/g")
LOG_PATH = Path("logs") / "version_0" / "metrics.csv"


def config_name(rec: dict) -> str:
    """``<label> | <setting>`` of a run record (the label alone when it has no setting)."""
    label, setting = rec.get("label") or rec.get("config_hash") or "?", rec.get("setting")
    return f"{label} | {setting}" if setting else str(label)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _fid_points(rec: dict) -> dict[int, float]:
    """{D step: FID} of a record's evaluations (a later entry for a step wins)."""
    return {int(e["step"]): float(e["fid"]) for e in rec.get("evals") or [] if _finite(e.get("fid"))}


def _loss_points(run_dir: str | None) -> dict[str, dict[int, float]]:
    """{metric: {D step: value}} from a run's CSV log; empty if the log is absent."""
    path = Path(run_dir) / LOG_PATH if run_dir else None
    out: dict[str, dict[int, float]] = {m: {} for m in LOSS_METRICS}
    if path is None or not path.is_file():
        return out
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if not row.get("d_step"):
                continue
            for m in LOSS_METRICS:
                if row.get(m) not in (None, ""):
                    out[m][int(float(row["d_step"]))] = float(row[m])
    return out


def curve_frame(records: Iterable[dict]) -> pd.DataFrame:
    """Long table (``CURVE_COLUMNS``) of every run's FID and loss points, sorted; D steps are ints."""
    rows = []
    for rec in records:
        name, seed = config_name(rec), rec.get("seed")
        series = {"fid": _fid_points(rec), **_loss_points(rec.get("run_dir"))}
        for metric, points in series.items():
            rows += [(name, seed, step, metric, value) for step, value in sorted(points.items())]
    frame = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return frame.sort_values(["metric", "config", "seed", "d_step"], kind="stable").reset_index(drop=True)


def _colours(configs: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(configs) <= 10 else "tab20")
    return {c: cmap(i % cmap.N) for i, c in enumerate(configs)}


def draw_curves(ax, frame: pd.DataFrame, metric: str, colours: dict[str, tuple]) -> list:
    """Draw ``metric`` vs D step on ``ax``: per configuration the median over seeds (one Line2D,
    labelled with the configuration) and the seeds' min-max band. Returns the lines."""
    lines = []
    sub = frame[frame["metric"] == metric]
    for name, grp in sub.groupby("config", sort=True):
        by_step = grp.groupby("d_step")["value"]
        med, lo, hi = by_step.median(), by_step.min(), by_step.max()
        (line,) = ax.plot(med.index, med.values, color=colours[name], linewidth=1.4, label=name)
        ax.fill_between(lo.index, lo.values, hi.values, color=colours[name], alpha=0.15, linewidth=0)
        lines.append(line)
    ax.set_xlabel("D step")
    ax.set_ylabel(metric)
    if not lines:
        ax.text(0.5, 0.5, f"no {metric} recorded", ha="center", va="center", transform=ax.transAxes)
    return lines


def _figure(frame: pd.DataFrame, metrics: tuple[str, ...], path: Path, title: str, log_y: bool) -> Path:
    colours = _colours(sorted(frame["config"].unique()))
    # wide enough for a two-column legend of "label | setting" names under the panels
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(11.0, 5.5 * len(metrics)), 4.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        lines = draw_curves(ax, frame, metric, colours)
        if log_y and lines:
            ax.set_yscale("log")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06 + 0.035 * math.ceil(len(labels) / 2), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_curves(records: Iterable[dict], out_dir: str | Path, study: str) -> dict[str, Path]:
    """Write ``curves.csv``, ``curves_fid.png`` and ``curves_loss.png`` into ``out_dir``."""
    out = Path(out_dir)
    frame = curve_frame(records)
    paths = {"curves": out / "curves.csv"}
    frame.to_csv(paths["curves"], index=False)
    paths["curves_fid_png"] = _figure(frame, ("fid",), out / "curves_fid.png",
                                      f"{study}: FID vs D step (median over seeds, band = min-max)", True)
    paths["curves_loss_png"] = _figure(frame, LOSS_METRICS, out / "curves_loss.png",
                                       f"{study}: losses vs D step (median over seeds, band = min-max)", False)
    return paths


CURVES_SECTION = (
    "\n## Training curves\n\nFID and losses vs D step, one line per configuration (median over seeds; band: "
    "min-max); data in `curves.csv` (`dvc plots show`).\n\n![FID vs D step](curves_fid.png)\n\n"
    "![losses vs D step](curves_loss.png)\n"
)
