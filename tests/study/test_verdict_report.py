"""Verdicts against the published numbers, and the report (diverged runs shown as diverged)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from ganaudit.audit.report import AuditOptions, write_audit
from ganaudit.audit.stats import add_scores, seed_variance
from ganaudit.audit.verdict import decide, load_published, verdicts
from ganaudit.study.store import ResultsStore, records_to_frame
from ganaudit.utils.errors import DataError
from tests.study.helpers import record

BASELINES = Path(__file__).resolve().parents[2] / "audits" / "baselines" / "published_models.csv"
# hub13: cifar10, ResNet CIFAR, NS, spectral_norm, no penalty, lr 2e-4, 0.5, 0.999, n_dis 5, 200K -> 22.91
HUB13 = {"config": {"dataset": {"name": "cifar10"}, "arch": {"name": "resnet_cifar"}, "loss": {"name": "ns"},
                    "norm": {"name": "spectral"}, "penalty": {"name": "none"}},
         "hparams": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_dis": 5}}


def hub13_runs(fids, statuses=None):
    recs = []
    for i, f in enumerate(fids):
        status = (statuses or {}).get(i, "ok")
        r = record(f"h13-s{i}", seed=i, fid_min=f, status=status, setting="lr=0.0002,beta1=0.5,beta2=0.999,n_dis=5",
                   **HUB13)
        r["d_steps"] = 200000
        recs.append(r)
    return records_to_frame(recs)


@pytest.mark.parametrize("published, scores, ci, expected", [
    (22.91, [22.0, 23.0, 24.0], (22.0, 24.0), "reproduced"),
    (22.0, [22.0, 23.0, 24.0], (22.0, 24.0), "reproduced"),      # boundaries are inside
    (24.0, [22.0, 23.0, 24.0], (22.0, 24.0), "reproduced"),
    (24.01, [22.0, 23.0, 24.0], (22.0, 24.0), "better"),
    (21.99, [22.0, 23.0, 24.0], (22.0, 24.0), "worse"),
    (30.0, [22.0, 23.0], (22.0, 23.0), "too few seeds"),
])
def test_decide_rule(published, scores, ci, expected):
    assert decide(published, scores, min_seeds=3, ci=ci) == expected


def test_load_published_maps_names_and_drops_other_studies():
    pub = load_published(BASELINES).set_index("row_id")
    assert pub.loc["hub13", ["dataset", "arch", "loss", "norm", "penalty"]].tolist() == [
        "cifar10", "resnet_cifar", "ns", "spectral", "none"]
    assert pub.loc["hub13", "fid"] == 22.91 and pub.loc["hub13", "n_dis"] == 5
    assert pub.loc["hub09", "penalty"] == "dragan" and pub.loc["hub09", "lambda"] == 1.0
    assert not any(i.startswith("lucic18") for i in pub.index)
    with pytest.raises(DataError, match="not found"):
        load_published(BASELINES.parent / "missing.csv")


@pytest.mark.parametrize("fids, statuses, expected", [
    ([22.5, 23.0, 23.4, 22.8, 23.1], None, "reproduced"),
    ([15.0, 15.5, 16.0, 15.2, 15.8], None, "better"),
    ([30.0, 31.0, 29.5, 30.5, 31.5], None, "worse"),
    ([22.5, 23.0, None, None, None], {2: "diverged", 3: "diverged", 4: "failed"}, "too few seeds"),
])
def test_verdicts_on_synthetic_hub13_seeds(fids, statuses, expected):
    runs = add_scores(hub13_runs(fids, statuses))
    pub = load_published(BASELINES)
    v = verdicts(runs, pub, seed_variance(runs))
    # hub13 and hub14 (the identical configuration, 23.22) are both covered
    assert sorted(v["row_id"]) == ["hub13", "hub14"]
    assert v.set_index("row_id").loc["hub13", "verdict"] == expected


def test_d_steps_must_match_unless_disabled():
    runs = add_scores(hub13_runs([22.5, 23.0, 23.4]))
    runs["d_steps"] = 100
    pub = load_published(BASELINES)
    assert verdicts(runs, pub, seed_variance(runs)).empty
    assert not verdicts(runs, pub, seed_variance(runs), match_d_steps=False).empty


def test_report_shows_diverged_runs_and_verdicts(tmp_path):
    store = ResultsStore(tmp_path / "results")
    for i, f in enumerate([22.5, 23.0, 23.4, None]):
        r = record(f"h13-s{i}", seed=i, fid_min=f, status="ok" if f else "diverged",
                   diverged_step=123 if not f else None,
                   setting="lr=0.0002,beta1=0.5,beta2=0.999,n_dis=5", label="SN", **HUB13)
        r["d_steps"] = 200000
        store.put(r)
    paths = write_audit(tmp_path / "results", tmp_path / "audit", AuditOptions(budget_reps=50, n_boot=500),
                        baselines=BASELINES)
    report = paths["report"].read_text()
    assert "1 diverged" in report
    diverged_rows = [line for line in report.splitlines() if "h13-s3" in line]
    assert diverged_rows and "diverged" in diverged_rows[0] and "123" in diverged_rows[0]
    assert "| hub13 | 22.91 |" in report and "reproduced" in report
    assert "![top5](top5.png)" in report and "![budget](budget.png)" in report
    runs = pd.read_csv(paths["runs"])
    assert runs.set_index("key").loc["h13-s3", "status"] == "diverged"
    metrics = json.loads(paths["metrics"].read_text())
    # hub13 22.91, hub14 23.22
    assert metrics["n_runs"] == 4 and metrics["n_diverged"] == 1 and metrics["verdicts"]["reproduced"] == 2
    assert metrics["configurations"]["SN"]["n_diverged"] == 1
    assert metrics["protocols"] == "synthetic" and metrics["score"] == "fid_min"
    assert "![FID vs D step](curves_fid.png)" in report and paths["curves"].is_file()
    for png in ("top5_png", "budget_png", "curves_fid_png", "curves_loss_png"):
        assert paths[png].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pd.read_csv(paths["seed_variance"])["n_diverged"].sum() == 1


def test_audit_of_empty_store_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no run records"):
        write_audit(tmp_path / "nothing", tmp_path / "out")
