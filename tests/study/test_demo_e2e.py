"""The demo study end to end: prepare digits -> digits CNN weights -> study (real training) -> audit.

Default run: a tiny demo (2 configurations x 1 seed, width 1/16, 4 D steps, FID at steps 2 and 4 with
the offline digits_cnn protocol, a 1-epoch CNN). Slow: the full `study=demo` as shipped.
"""

import json
import re

import pandas as pd
import pytest

from ganaudit.audit.report import AuditOptions, write_audit
from ganaudit.study.launch import InlineLauncher
from ganaudit.study.run import run_from_config
from ganaudit.training.config import compose

BASE = ["dataset=digits", "arch=sndcgan", "arch.width=0.0625", "trainer.d_steps=4", "trainer.batch_size=8",
        "trainer.checkpoint_every=2", "eval.every=2", "trainer.progress_bar=false"]
TINY = ["study.base=[" + ",".join(f"'{o}'" for o in BASE) + "]",
        "study.configurations.axes.loss=[ns,wgan]", "study.configurations.axes.norm=[spectral]",
        "study.seeds=[0]", "study_task.options.torch_threads=1",
        "study.hparams.fixed=[{lr:0.0002,beta1:0.5,beta2:0.999,n_dis:1}]"]   # robust on a shared, loaded CI box


@pytest.fixture
def offline_root(tmp_path, monkeypatch):
    """GANAUDIT_ROOT with prepared digits and a small digits CNN (pin lifted, as in tests/metrics)."""
    from sklearn.datasets import load_digits

    from ganaudit.cli.data import main as data_main
    from ganaudit.data.digits import render_digits
    from ganaudit.metrics import digits_cnn

    assert data_main(["prepare", "digits", "--out", str(tmp_path / "data" / "prepared" / "digits")]) == 0
    d = load_digits()
    net = digits_cnn.train_classifier(render_digits(d.images[:600]), d.target[:600], seed=0, epochs=1)
    digits_cnn.save_weights(net, tmp_path / "artifacts" / "weights" / "digits_cnn.pt", {"test": True})
    monkeypatch.setattr(digits_cnn, "DIGITS_WEIGHTS",
                        digits_cnn.DIGITS_WEIGHTS.__class__(**{**digits_cnn.DIGITS_WEIGHTS.__dict__, "sha256": None}))
    monkeypatch.setenv("GANAUDIT_ROOT", str(tmp_path))
    return tmp_path


def run_demo(root, overrides):
    cfg = compose(["study=demo", *overrides], config_name="run_study")
    summary = run_from_config(cfg, launcher=InlineLauncher())
    paths = write_audit(summary["results_dir"], root / "audit", AuditOptions(budget_reps=100, n_boot=500),
                        baselines="audits/baselines/published_models.csv",
                        data_root=root / "data" / "prepared", artifacts_dir=root / "artifacts")
    return summary, paths


@pytest.mark.timeout(600)
def test_tiny_demo_end_to_end(offline_root):
    summary, paths = run_demo(offline_root, TINY)
    assert summary["launched"] == 2 and summary["statuses"] == {"ok": 2}, summary
    runs = pd.read_csv(paths["runs"])
    assert sorted(runs["loss"]) == ["ns", "wgan"] and set(runs["dataset"]) == {"digits"}
    assert (runs["fid_min"] > 0).all() and (runs["fid_min"] <= runs["fid_final"]).all()
    rec = json.loads(next((offline_root / "results" / "studies" / "demo" / "records").glob("*.json")).read_text())
    steps = [e["step"] for e in rec["evals"]]
    assert 2 in steps and 4 in steps                           # FID-min vs FID-final exist
    assert all(e["provenance"]["protocol"] == "digits_cnn" for e in rec["evals"])
    assert rec["key"] == f"{rec['config_hash']}-s0" == f"{rec['planned_config_hash']}-s0"
    report = paths["report"].read_text()
    assert "2 runs: 2 ok, 0 diverged, 0 failed" in report and "digits_cnn" in report
    assert "covers none of the" in report                      # digits: no published row
    pngs = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)   # every figure the report shows exists
    assert {"samples/loss_ns_norm_spectral.png", "samples/loss_wgan_norm_spectral.png",
            "samples/real_digits_test.png"} <= set(pngs)
    assert all((paths["report"].parent / p).is_file() for p in pngs)
    floor = re.search(r"floor of protocol `digits_cnn` on `digits`: FID \*\*([0-9.]+)\*\*", report)
    assert floor and 0 < float(floor.group(1)) < min(runs["fid_min"])
    assert (offline_root / "runs" / f"{rec['key']}" / "samples" / "step_000004.png").is_file()
    again, _ = run_demo(offline_root, TINY)                    # rerun: nothing to train
    assert again["launched"] == 0 and again["skipped_finished"] == 2


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_full_demo_end_to_end(offline_root):
    summary, paths = run_demo(offline_root, [])
    assert summary["launched"] == 6 and summary["statuses"].get("failed", 0) == 0
    assert pd.read_csv(paths["seed_variance"])["n_runs"].tolist() == [3] * 2
