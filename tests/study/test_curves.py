"""Training curves of an audit: the long CSV holds one row per run, D step and metric; each figure draws
one line per configuration with a fixed colour."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from ganaudit.audit.curves import CURVE_COLUMNS, config_name, curve_frame, draw_curves, write_curves


def _log(run_dir: Path, rows: list[dict]) -> None:
    path = run_dir / "logs" / "version_0" / "metrics.csv"
    path.parent.mkdir(parents=True)
    keys = ["d_step", "eval/fid", "loss/d", "loss/g", "step"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def _records(tmp_path: Path) -> list[dict]:
    """2 configurations x 2 seeds; config A has CSV logs (losses at D steps 1, 2), B has none."""
    recs = []
    for label, base in (("A", 100.0), ("B", 300.0)):
        for seed in (0, 1):
            run = tmp_path / f"{label}-s{seed}"
            rec = {"label": label, "setting": "lr=0.001", "seed": seed, "run_dir": str(run),
                   "evals": [{"step": 0, "fid": base + seed}, {"step": 2, "fid": base / 2 + seed},
                             {"step": 4, "fid": None}]}  # a checkpoint without FID is left out
            if label == "A":
                _log(run, [{"step": 0, "d_step": 0, "eval/fid": base + seed},
                           {"step": 1, "d_step": 1, "loss/d": 1.5 + seed, "loss/g": 0.5},
                           {"step": 2, "d_step": 2, "loss/d": 1.0 + seed, "loss/g": 0.7, "eval/fid": base / 2}])
            recs.append(rec)
    return recs


def test_curve_frame_has_one_row_per_run_step_and_metric(tmp_path):
    frame = curve_frame(_records(tmp_path))
    assert list(frame.columns) == CURVE_COLUMNS
    assert not frame.duplicated(["config", "seed", "d_step", "metric"]).any()
    fid = frame[frame.metric == "fid"]
    assert len(fid) == 2 * 2 * 2  # configs x seeds x scored steps
    assert fid[(fid.config == "A | lr=0.001") & (fid.seed == 1)].set_index("d_step")["value"].to_dict() == \
        {0: 101.0, 2: 51.0}
    loss_d = frame[frame.metric == "loss/d"]
    assert set(loss_d.config) == {"A | lr=0.001"}  # B's runs have no log on this machine
    assert loss_d[loss_d.seed == 1].set_index("d_step")["value"].to_dict() == {1: 2.5, 2: 2.0}


def test_draw_curves_draws_one_median_line_per_configuration(tmp_path):
    frame = curve_frame(_records(tmp_path))
    fig, ax = plt.subplots()
    colours = {"A | lr=0.001": (1, 0, 0, 1), "B | lr=0.001": (0, 0, 1, 1)}
    lines = draw_curves(ax, frame, "fid", colours)
    assert len(ax.get_lines()) == len(lines) == 2
    by_label = {ln.get_label(): ln for ln in lines}
    a = by_label["A | lr=0.001"]
    assert list(a.get_xdata()) == [0, 2] and list(a.get_ydata()) == pytest.approx([100.5, 50.5])  # median of seeds
    assert a.get_color() == (1, 0, 0, 1) and by_label["B | lr=0.001"].get_color() == (0, 0, 1, 1)
    plt.close(fig)


def test_write_curves_writes_the_csv_and_two_pngs(tmp_path):
    (tmp_path / "out").mkdir()
    paths = write_curves(_records(tmp_path), tmp_path / "out", "demo")
    assert pd.read_csv(paths["curves"]).shape == (8 + 4 + 4, 5)  # fid 8, loss/d 4, loss/g 4
    for key in ("curves_fid_png", "curves_loss_png"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_name_without_setting_is_the_label():
    assert config_name({"label": "loss=ns"}) == "loss=ns"
    assert config_name({"label": "SN", "setting": "lr=2e-4"}) == "SN | lr=2e-4"
