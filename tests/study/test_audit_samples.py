"""The audit's samples section (ganaudit.audit.samples): best-run grids, effects vs seed spread."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from PIL import Image

from ganaudit.audit.samples import best_runs, effects_text, floor_summary, grid_of, samples_section
from ganaudit.metrics.grids import save_png, step_grid_path


def _variance(rows, n_scored=3):
    frame = pd.DataFrame(rows, columns=["label", "setting", "median", "min", "max"])
    return frame.assign(n_scored=n_scored)


def test_effect_is_larger_than_the_spread_only_when_seed_ranges_are_disjoint():
    disjoint = effects_text(_variance([("a", "s", 100.0, 90.0, 120.0), ("b", "s", 300.0, 121.0, 400.0)]))
    assert "1 of 1 pairs" in disjoint and "a vs b (s): medians 100.00 vs 300.00" in disjoint
    assert "disjoint" in disjoint
    touching = effects_text(_variance([("a", "s", 100.0, 90.0, 130.0), ("b", "s", 300.0, 130.0, 400.0)]))
    assert "0 of 1 pairs" in touching and "overlapping" in touching
    other_settings = effects_text(_variance([("a", "s1", 1.0, 1.0, 1.0), ("b", "s2", 5.0, 5.0, 5.0)]))
    assert other_settings.startswith("No two configurations share a setting")


def test_floor_summary_by_hand():
    floor = {"dataset": "digits", "protocol": "digits_cnn", "fid": 50.0, "n": 500, "samples": "real:train[:500]"}
    variance = _variance([("b", "s", 300.0, 200.0, 400.0), ("a", "s", 150.0, 100.0, 210.0),
                          ("c", "s", 320.0, 290.0, 330.0)])
    got = floor_summary(floor, variance)
    assert got["best_configuration"] == "a" and got["best_median"] == 150.0
    assert got["best_median_over_floor"] == 3.0 and got["floor"] == floor
    # pairs: a-b disjoint (210 < 200? no: overlapping), a-c disjoint (210 < 290), b-c overlapping
    assert (got["effect_pairs"], got["effects_larger_than_seed_spread"]) == (3, 1)
    missing = floor_summary({"reason": "no data"}, variance)
    assert missing["floor"] is None and missing["floor_reason"] == "no data" and "best_median" not in missing


def _run(tmp_path, key, label, score, step, seed):
    run_dir = tmp_path / "runs" / key
    for s, value in ((0, 10), (step, 200), (step + 100, 30)):   # the scored step's grid is the bright one
        save_png(np.full((274, 274, 3), value, np.uint8), step_grid_path(run_dir, s))
    rec = {"key": key, "run_dir": str(run_dir), "fid_min_step": step, "fid_final_step": step + 100}
    row = {"key": key, "label": label, "setting": "lr=0.001", "seed": seed, "score": score}
    return rec, row


def test_samples_section_copies_each_configurations_best_grid(tmp_path):
    made = [_run(tmp_path, "k1", "loss=ns", 300.0, 200, 0), _run(tmp_path, "k2", "loss=ns", 250.0, 300, 1),
            _run(tmp_path, "k3", "loss=wgan", 900.0, 100, 0)]
    records, rows = [m[0] for m in made], pd.DataFrame([m[1] for m in made])
    assert best_runs(rows)["key"].tolist() == ["k2", "k3"]
    assert grid_of(records[1], "fid_min") == step_grid_path(tmp_path / "runs" / "k2", 300)
    assert grid_of(records[1], "fid_final") == step_grid_path(tmp_path / "runs" / "k2", 400)
    assert grid_of({"key": "x", "run_dir": str(tmp_path / "none")}, "fid_min") is None
    variance = _variance([("loss=ns", "lr=0.001", 275.0, 250.0, 300.0), ("loss=wgan", "lr=0.001", 900.0, 900.0, 900.0)])
    out = tmp_path / "report"
    text, summary = samples_section(rows, records, variance, out, metric="fid_min", data_root=None, artifacts_dir=None,
                           floor_max_images=2000)
    assert "Real-data floor: not computed (no --data-root/--artifacts given)" in text
    pngs = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert pngs == ["samples/loss_ns.png", "samples/loss_wgan.png"]
    assert np.asarray(Image.open(out / pngs[0])).max() == 200   # k2's grid at its fid_min step
    assert "seed 1, fid_min 250.00, `step_000300.png`" in text
    assert "1 of 1 pairs" in text
    assert summary == {"effect_pairs": 1, "effects_larger_than_seed_spread": 1, "floor": None,
                       "floor_reason": "no --data-root/--artifacts given"}


def test_one_seed_per_configuration_has_no_spread_to_compare():
    # a 0.1-FID gap between single seeds: their "ranges" are points, so nothing is larger than a spread
    one = effects_text(_variance([("a", "s", 30.0, 30.0, 30.0), ("b", "s", 30.1, 30.1, 30.1)], n_scored=1))
    assert "0 of 1 pairs larger than the spread of their seeds; 1 pair(s) with fewer than 2 scored seeds" in one
    assert "a vs b (s): medians 30.00 vs 30.10 (gap 0.10), 1 vs 1 scored seed(s): no seed spread to compare" in one
    assert "disjoint" not in one and "larger than the seed spread**" not in one
    mixed = _variance([("a", "s", 30.0, 29.0, 31.0), ("b", "s", 90.0, 90.0, 90.0), ("c", "s", 95.0, 94.0, 96.0)])
    mixed.loc[mixed["label"] == "b", "n_scored"] = 1            # b: one seed; a and c: three each
    text = effects_text(mixed)
    assert "1 of 3 pairs larger than the spread of their seeds; 2 pair(s) with fewer than 2" in text
    assert "a vs c (s): medians 30.00 vs 95.00, seed ranges [29.00, 31.00] vs [94.00, 96.00]: **disjoint" in text
    assert floor_summary({"reason": "x"}, mixed)["effects_larger_than_seed_spread"] == 1


def test_audit_of_a_one_seed_store_says_there_is_no_spread(tmp_path):
    from ganaudit.audit.stats import seed_variance
    from ganaudit.study.store import ResultsStore
    from tests.study.helpers import record

    store = ResultsStore(tmp_path / "store")
    store.put(record("aaaa-s0", label="loss=ns", setting="lr=0.0002", fid_min=50.0))
    store.put(record("bbbb-s0", label="loss=wgan", setting="lr=0.0002", fid_min=50.1))
    variance = seed_variance(store.frame(), n_boot=50)
    assert variance["n_scored"].tolist() == [1, 1]
    text = effects_text(variance)
    assert "0 of 1 pairs larger than the spread" in text and "(gap 0.10), 1 vs 1 scored seed(s)" in text
    assert "**disjoint" not in text
    summary = floor_summary({"reason": "no data"}, variance)
    assert (summary["effect_pairs"], summary["effects_larger_than_seed_spread"]) == (1, 0)
    store.put(record("aaaa-s1", label="loss=ns", setting="lr=0.0002", fid_min=49.0))
    store.put(record("bbbb-s1", label="loss=wgan", setting="lr=0.0002", fid_min=60.0))
    two = effects_text(seed_variance(store.frame(), n_boot=50))   # two seeds each, ranges [49, 50] < [50.1, 60]
    assert "1 of 1 pairs larger than the spread" in two and "**disjoint" in two
