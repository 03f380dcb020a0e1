"""Planted causes on a trained digits generator (the demo's configuration, 300 D steps, fast kernels):
``audit explain`` ranks the planted variant first wherever it moves FID beyond the sampling CI. Slow
(trains a run); needs the prepared digits data and the digits extractor in the repository (``ganaudit
data prepare digits``, ``ganaudit weights ensure digits``), skipped otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ganaudit.audit.explain import explain, rank
from ganaudit.audit.explain_io import load_source, make_setup

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (ROOT / "data" / "prepared" / "digits").is_dir()
                                 or not (ROOT / "artifacts" / "weights" / "digits_cnn.pt").is_file(),
                                 reason="needs data/prepared/digits and artifacts/weights/digits_cnn.pt")]

DEMO = ["dataset=digits", "arch=sndcgan", "arch.width=0.125", "loss=hinge", "norm=spectral", "optim.lr=0.001",
        "optim.beta1=0.5", "optim.beta2=0.9", "optim.n_dis=1", "trainer.batch_size=32", "trainer.d_steps=300",
        "trainer.checkpoint_every=100", "eval.every=100", "trainer.progress_bar=false", "determinism=fast", "seed=0"]
AXES = ("split", "n_real", "n_fake", "jpeg", "g_mode", "latent", "select")


@pytest.fixture(scope="session")
def digits_world(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    subprocess.run([sys.executable, "-m", "ganaudit.train", *DEMO, f"paths.runs={runs}"], cwd=ROOT, check=True,
                   capture_output=True)
    run_dir = next(p for p in runs.iterdir() if (p / "result.json").is_file())
    source, info = load_source(run_dir)
    setup, sizes = make_setup("digits", "auto", ROOT, ROOT / "artifacts", streams=5, n_boot=50, sizes=(),
                              axes=AXES)
    result = explain(setup, [source], 0.0, sizes)
    return result, {r["label"]: r for r in result["variants"]}


def test_planted_causes_rank_first_on_digits(digits_world):
    """Every single cause whose FID on the protocol's stream leaves the plain protocol's CI is ranked first
    (or tied first) when claimed. At this length (FID ~530, sampling CI ~+-5%) only latent=normal does
    (~+53%); split=train (-8%), the counts, JPEG and train mode stay inside the CI and are, correctly,
    explained by "no change"; pairs with latent=normal are explained by latent=normal alone (fewer
    changes). The ranking over six single causes and two pairs is tested on the synthetic world
    (tests/audit/test_explain.py)."""
    result, rows = digits_world
    plain_ci = result["plain"]["ci"]
    table = {k: (round(v["values"][0][0], 2), round(v["fid"], 2), [round(c, 2) for c in v["ci"]])
             for k, v in rows.items()}
    print("digits variants (stream-0 FID, mean, CI):", table)  # shown on failure
    candidates = ("split=train", "n_real=250", "n_fake=250", "n_fake=1000", "jpeg=75", "quantize=truncate",
                  "g_mode=train", "latent=normal", "select=final", "g_mode=train, latent=normal",
                  "split=train, latent=normal", "split=train, g_mode=train", "latent=normal, select=final")
    planted = [lab for lab in candidates if lab in rows
               and not plain_ci[0] <= rows[lab]["values"][0][0] <= plain_ci[1]]
    planted = [p for p in planted if "," not in p]
    assert "latent=normal" in planted, table
    missed = []
    for label in planted:
        ranked = rank([dict(r) for r in rows.values()], rows[label]["values"][0][0])
        top, mine = ranked[0], next(r for r in ranked if r["label"] == label)
        tied = mine["n_changes"] == top["n_changes"] and mine["ci"][0] <= top["fid"] <= mine["ci"][1]
        if not (mine["explains"] and tied):
            missed.append((label, top["label"]))
    assert not missed, (missed, table)
    plain = result["plain"]["values"][0][0]
    assert rank([dict(r) for r in rows.values()], plain)[0]["label"] == "no change"
    assert not any(r["explains"] for r in rank([dict(r) for r in rows.values()], 3 * plain))
