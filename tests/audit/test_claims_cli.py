"""``ganaudit audit claims`` and the audit report's Claims section, on synthetic results stores; the demo
claims on the committed demo runs; the study slices' ``claims`` key against what their plans cover."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ganaudit.audit.claims import coverage, evaluate_claims, min_decidable_n
from ganaudit.audit.claims_spec import load_claims
from ganaudit.audit.report import AuditOptions, write_audit
from ganaudit.cli.audit import main as audit_main
from ganaudit.study.plan import study_claims
from ganaudit.study.store import ResultsStore
from ganaudit.utils.errors import ConfigError
from tests.study.helpers import record

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = """
seed: 0
n_boot: 200
claims:
  - {id: ns_better, statement: "NS is better", cites: "test", a: {loss: ns}, b: {loss: wgan}, statistic: median,
     direction: less, scale: log, group_by: [dataset]}
  - {id: wgan_spread, statement: "WGAN diverges more", cites: "test", a: {loss: wgan}, b: {loss: ns},
     statistic: frac_diverged, direction: greater}
  - {id: bn_hurts, statement: "BN hurts", cites: "test", a: {norm: batch}, b: {norm: none}, statistic: median,
     direction: greater}
"""


def _store(root: Path, n: int = 6) -> Path:
    store = ResultsStore(root)
    rng = np.random.default_rng(0)
    for loss, centre, cfg in (("ns", 30.0, "aaaa"), ("wgan", 90.0, "bbbb")):
        for seed in range(n):
            rec = record(f"{cfg}-s{seed}", label=f"loss={loss}", fid_min=float(centre * np.exp(rng.normal(0, .1))),
                         config={"dataset": {"name": "digits"}, "arch": {"name": "sndcgan"}, "loss": {"name": loss},
                                 "norm": {"name": "none"}, "penalty": {"name": "none"}})
            store.put(rec)
    return root


@pytest.fixture
def claims_file(tmp_path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(CLAIMS)
    return path


def test_cli_writes_every_output_and_prints_verdicts(tmp_path, claims_file, capsys):
    results = _store(tmp_path / "results")
    out = tmp_path / "out"
    assert audit_main(["claims", str(results), "--claims", str(claims_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "supported  ns_better  (1/1 parts covered)" in printed
    assert "not covered  bn_hurts" in printed and "inconclusive  wgan_spread" in printed  # no run diverged
    table = pd.read_csv(out / "claims.csv")
    doc = json.loads((out / "claims.json").read_text())
    assert list(table["claim"]) == ["ns_better", "wgan_spread", "bn_hurts"]
    assert [c["verdict"] for c in doc["claims"]] == ["supported", "inconclusive", "not covered"]
    assert doc["claims"][0]["parts"][0]["p_holm"] == pytest.approx(table["p_holm"][0], abs=1e-15)
    # Holm over the two covered tests (the other, no run diverged on either side, has p = 1): the smaller doubled
    assert table["p"][1] == 1.0 and table["p"][0] < 0.025
    assert table["p_holm"][0] == pytest.approx(2 * table["p"][0], abs=1e-15) and table["p_holm"][1] == 1.0
    md = (out / "claims.md").read_text()
    assert "## ns_better: supported" in md and "![ns_better](ns_better.png)" in md
    for cid in table["claim"]:
        assert (out / f"{cid}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_refuses_bad_input_in_one_line(tmp_path, claims_file, capsys):
    results = _store(tmp_path / "results", n=2)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLAIMS.replace("direction: less", "direction: lesser"))
    assert audit_main(["claims", str(results), "--claims", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "claim 'ns_better' field 'direction'" in err and "\n" not in err
    assert not (tmp_path / "o").exists()  # refused before anything was written
    assert audit_main(["claims", str(tmp_path / "nowhere"), "--claims", str(claims_file)]) == 1
    assert "neither" in capsys.readouterr().err


def test_report_gains_a_claims_section(tmp_path, claims_file):
    results = _store(tmp_path / "results")
    opts = AuditOptions(budget_reps=20, n_boot=100, claims=str(claims_file))
    paths = write_audit(results, tmp_path / "audit", opts)
    report = paths["report"].read_text()
    assert "\n## Claims\n" in report and "| ns_better | icml | **supported** | 1/1 |" in report
    assert "![ns_better](claims/ns_better.png)" in report
    assert (tmp_path / "audit" / "claims" / "claims.csv").is_file()
    counts = json.loads(paths["metrics"].read_text())["claims"]
    assert counts == {"supported": 1, "contradicted": 0, "inconclusive": 1, "not covered": 1}
    none = write_audit(results, tmp_path / "plain", AuditOptions(budget_reps=20, n_boot=100, claims="none"))
    assert "No claims file for study `synthetic`" in none["report"].read_text()
    assert pd.read_csv(tmp_path / "plain" / "claims" / "claims.csv").empty


def test_demo_claims_on_the_committed_demo_runs():
    """What the claims code says about the six committed demo runs (3 seeds per loss)."""
    runs = pd.read_csv(ROOT / "audits" / "reports" / "demo" / "runs.csv")
    t = evaluate_claims(runs, load_claims(ROOT / "audits" / "claims" / "demo.yaml")).set_index("claim")
    loc, spread = t.loc["demo_hinge_median_below_wgan"], t.loc["demo_wgan_more_runs_above_1000"]
    hinge = sorted(runs.loc[runs["loss"] == "hinge", "fid_min"])
    wgan = sorted(runs.loc[runs["loss"] == "wgan", "fid_min"])
    assert loc["d"] == pytest.approx(np.log(hinge[1] / wgan[1]), abs=1e-12) and loc["cliffs_delta"] == -1.0
    assert loc["p"] == pytest.approx(4 / 20, abs=1e-15)      # median ties: 4 of the 20 splits reach |d|
    assert spread["stat_a"] == 1.0 and spread["stat_b"] == 0.0  # every WGAN seed above 1000, no hinge seed
    assert spread["p"] == pytest.approx(2 / 20, abs=1e-15)   # only the observed split and its mirror
    assert list(t["p_holm"]) == pytest.approx([0.2, 0.2], abs=1e-15)  # Holm: 0.1 * 2, then max(0.2, 0.2 * 1)
    assert (t["verdict"] == "inconclusive").all()  # 3 seeds cannot decide
    # seeds that would: the normal approximation for the medians; for the shares, which no bootstrap
    # resample moves (SE 0), the smallest n at which the permutation test reaches alpha / 2 at all
    assert loc["n_needed"] >= 5 and spread["n_needed"] == min_decidable_n(0.05 / 2) == 5


def _static_frame(name: str) -> pd.DataFrame:
    from ganaudit.study.spec import StudySpec
    from ganaudit.training.config import compose
    from ganaudit.utils.overrides import override_dict

    cfg = compose([f"study={name}"], config_name="run_study")
    spec = StudySpec.from_config(cfg.study, cfg.hparam_keys)
    rows = []
    for r in spec.expand_static():
        o = override_dict(spec.base + r.overrides, as_text=True)
        rows.append({"dataset": o.get("dataset"), "arch": o.get("arch"), "loss": o.get("loss", "ns"),
                     "norm": o.get("norm", "none"), "penalty": o.get("penalty", "none"),
                     "n_dis": r.hparams.get("n_dis"), "lambda": r.hparams.get("lambda"), "lr": r.hparams.get("lr"),
                     "beta1": r.hparams.get("beta1"), "beta2": r.hparams.get("beta2"),
                     "d_steps": int(o.get("trainer.d_steps", 0)), "label": r.label, "setting": r.setting,
                     "source": r.source, "seed": r.seed, "status": "ok", "fid_min": 50.0, "fid_final": 50.0,
                     "wall_time_s": 1.0})
    return pd.DataFrame(rows)


FAST_SLICES = ("demo", "smoke", "cifar10_repro")  # the other slices take ~8 s each on 2 busy cores: slow


@pytest.mark.parametrize("path", [pytest.param(p, id=Path(p).stem, marks=() if Path(p).stem in FAST_SLICES
                                               else pytest.mark.slow)
                                  for p in sorted(glob.glob(str(ROOT / "conf" / "study" / "*.yaml")))])
def test_study_claims_are_what_its_planned_runs_cover(path):
    declared = yaml.safe_load(Path(path).read_text())["claims"]
    runs = _static_frame(Path(path).stem)
    runs = runs[runs["seed"] <= runs["seed"].min() + 1]  # two seeds per setting cover what five do (faster)
    cov = coverage(runs, load_claims(ROOT / "audits" / "claims" / "kurach2019.yaml"))
    assert declared == [cid for cid, n in cov.items() if n], "the study's claims key and its runs disagree"


def test_plan_lists_and_checks_claims(tmp_path):
    f = ROOT / "audits" / "claims" / "kurach2019.yaml"
    assert study_claims({"name": "s", "claims": ["gp_helps"]}, f) == (["gp_helps"], f)
    assert study_claims({"name": "s"}, f) == ([], f)
    with pytest.raises(ConfigError, match="study 's' field 'claims': 'gp_help' .* did you mean 'gp_helps'"):
        study_claims({"name": "s", "claims": ["gp_help"]}, f)
    assert study_claims({"name": "s", "claims": ["x"]}, tmp_path / "none.yaml") == (["x"], None)


def test_the_findings_file_on_a_store_that_covers_none_of_it(tmp_path, capsys):
    results = _store(tmp_path / "results", n=3)  # NS vs WGAN on digits, no norm or penalty side
    out = tmp_path / "k"
    assert audit_main(["claims", str(results), "--claims", str(ROOT / "audits/claims/kurach2019.yaml"),
                       "--out", str(out)]) == 0
    verdicts = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:-1]]
    assert len(verdicts) == 25 and set(verdicts) == {"not"}  # "not covered" for every claim
    assert len(list(out.glob("*.png"))) == 25
