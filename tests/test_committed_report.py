"""The committed demo report (audits/reports/demo, produced by `dvc repro` from a fresh clone) belongs
to the code and configs in this tree, meets the demo's targets (best median at most 4x the floor), and
says what the README says.

A change that moves the demo's numbers (a hashed default, the demo study, the training code's config)
fails here until the report and dvc.lock are regenerated, which is the rule: regenerate them last.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from ganaudit.study.driver import StudyDriver
from ganaudit.study.spec import StudySpec
from ganaudit.training.config import compose

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "audits" / "reports" / "demo"


@pytest.fixture(scope="module")
def metrics() -> dict:
    return json.loads((REPORT / "metrics.json").read_text())


def test_report_runs_are_the_demo_study_planned_by_this_tree(tmp_path):
    cfg = compose(["study=demo"], config_name="run_study")
    spec = StudySpec.from_config(cfg.study, cfg.hparam_keys)
    spec.base.insert(0, f"determinism={cfg.determinism}")  # as ganaudit.study does
    driver = StudyDriver(spec, tmp_path / "results")
    planned = {run.key for run in driver.assign_keys(driver.static_runs())}
    runs = pd.read_csv(REPORT / "runs.csv")
    assert set(runs["key"]) == planned, "the committed report is stale: regenerate it (and dvc.lock) last"
    assert (runs["status"] == "ok").all() and len(runs) == 6


def test_demo_meets_the_floor_target_and_shows_an_effect(metrics):
    floor = metrics["floor"]
    assert floor["protocol"] == "digits_cnn" and floor["dataset"] == "digits" and floor["n"] == 500
    assert 40.0 < floor["fid"] < 80.0
    ratio = metrics["best_median_over_floor"]
    assert 1.0 < ratio <= 4.0   # the best configuration's median at most 4x the floor
    # recomputed from the per-run scores in runs.csv: each configuration's median over its seeds
    runs = pd.read_csv(REPORT / "runs.csv")
    medians = runs.groupby("label")[metrics["score"]].median()
    assert medians.idxmin() == metrics["best_configuration"]
    assert medians.min() / floor["fid"] == pytest.approx(ratio, rel=1e-12, abs=0)
    # and the floor is the one the report shows its reader
    report = (REPORT / "report.md").read_text()
    assert f"{floor['fid']:.2f}" in report
    assert metrics["effects_larger_than_seed_spread"] == metrics["effect_pairs"] == 1


def test_readme_states_the_committed_ratio(metrics):
    readme = (ROOT / "README.md").read_text()
    stated = re.findall(r"median is ([0-9]+\.[0-9]+)x the", readme)
    assert stated, "README: the demo's median / floor sentence is missing"
    assert set(stated) == {f"{metrics['best_median_over_floor']:.2f}"}
