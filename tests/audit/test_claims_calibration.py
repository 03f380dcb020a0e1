"""Calibration of the claim verdicts on synthetic studies: planted truths are found, and under the null
the verdicts keep their error rate (per claim and, with Holm, for the whole file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ganaudit.audit.claims import evaluate_claims, evaluate_parts
from tests.audit.synth import claim, claims_file, frame

ALPHA = 0.05


def _decided(cf, samples) -> np.ndarray:
    """[studies, claims] True where a claim got supported or contradicted; each study one (a, b)."""
    out = []
    for a, b in samples:
        t = evaluate_parts([(c, "all", a, b) for c in cf.claims], cf)
        out.append(t["verdict"].isin(["supported", "contradicted"]).to_numpy())
    return np.asarray(out)


def _null_rates(n_studies: int, n: int, seed: int, n_perm: int):
    cf = claims_file(claim("location"), claim("spread", "iqr", "greater", scale="log"),
                     claim("tail", "frac_above", "greater", threshold=60.0),
                     claim("best", "top_fraction", "less", q=0.34, scale="log"), n_perm=n_perm, n_boot=20)
    rng = np.random.default_rng(seed)
    fids = 50 * np.exp(rng.normal(0, 0.3, (n_studies, 2 * n)))     # both sides from one distribution
    dec = _decided(cf, [(x[:n], x[n:]) for x in fids])
    return dec.mean(axis=0), dec.any(axis=1).mean()


def test_null_error_rates_per_claim_and_family():
    per_claim, family = _null_rates(200, 6, seed=11, n_perm=1000)    # 6 vs 6: every split enumerated
    assert (per_claim <= ALPHA).all(), per_claim
    assert family <= ALPHA, family


@pytest.mark.slow
def test_null_error_rates_large():
    per_claim, family = _null_rates(1000, 12, seed=12, n_perm=400)   # Monte Carlo permutations
    assert (per_claim <= ALPHA).all(), per_claim
    assert family <= ALPHA, family


def test_planted_effects_are_supported_and_contradicted():
    rng = np.random.default_rng(21)
    cf = claims_file(claim("hinge_better"), claim("hinge_worse", direction="greater"),
                     claim("wide", "iqr", "greater", scale="log"),
                     claim("diverges", "frac_diverged", "greater"), n_boot=200)
    verdicts = []
    for _ in range(20):
        a = 20 * np.exp(rng.normal(0, 0.3, 8))                     # wider, better located
        b = 60 * np.exp(rng.normal(0, 0.05, 8))
        runs = frame(a, b, status_a=["diverged"] * 6 + ["ok"] * 2)
        verdicts.append(evaluate_claims(runs, cf).set_index("claim")["verdict"])
    got = {cid: [v[cid] for v in verdicts] for cid in verdicts[0].index}
    assert all(v == "supported" for v in got["hinge_better"])
    assert all(v == "contradicted" for v in got["hinge_worse"])
    assert np.mean([v == "supported" for v in got["wide"]]) >= 0.8
    assert all(v == "supported" for v in got["diverges"])


def test_equivalence_inside_the_margin_is_supported_at_adequate_n():
    rng = np.random.default_rng(31)
    cf = claims_file(claim("same", "median", "equivalent", margin=0.1, scale="log"), n_perm=300, n_boot=20)
    samples = [(40 * np.exp(0.02 + rng.normal(0, 0.05, 25)), 40 * np.exp(rng.normal(0, 0.05, 25)))
               for _ in range(30)]
    sup = [evaluate_parts([(cf.claims[0], "all", np.log(a), np.log(b))], cf)["verdict"].iloc[0] == "supported"
           for a, b in samples]
    assert np.mean(sup) >= 0.9


def test_equivalence_at_the_margin_keeps_its_level_and_beyond_it_is_contradicted():
    rng = np.random.default_rng(41)
    cf = claims_file(claim("same", "median", "equivalent", margin=0.1), n_perm=200, n_boot=20)
    at_margin = [(0.1 + rng.normal(0, 0.05, 10), rng.normal(0, 0.05, 10)) for _ in range(200)]
    v = [evaluate_parts([(cf.claims[0], "all", a, b)], cf)["verdict"].iloc[0] for a, b in at_margin]
    assert np.mean([x == "supported" for x in v]) <= ALPHA
    far = [(0.5 + rng.normal(0, 0.05, 10), rng.normal(0, 0.05, 10)) for _ in range(10)]
    v = [evaluate_parts([(cf.claims[0], "all", a, b)], cf)["verdict"].iloc[0] for a, b in far]
    assert all(x == "contradicted" for x in v)


def test_too_few_seeds_is_inconclusive_with_the_seeds_that_would_decide():
    cf = claims_file(claim("loc", scale="log"), n_boot=500)
    t = evaluate_claims(frame([30.0, 31.0, 33.0], [60.0, 65.0, 70.0]), cf)
    # medians 31 vs 65: of the 20 splits, 4 reach |d| (the observed one, a = {30, 31, 60} and both mirrors)
    assert t["verdict"].iloc[0] == "inconclusive" and t["p"].iloc[0] == pytest.approx(4 / 20, abs=1e-15)
    assert t["d"].iloc[0] == pytest.approx(np.log(31 / 65), abs=1e-12)
    # the normal approximation asks for fewer, but 2 / C(8, 4) = 0.029 < 0.05 is the first n that can decide
    assert t["n_needed"].iloc[0] == 4
    planted = claims_file(claim("loc", scale="log"), n_boot=20)
    rng = np.random.default_rng(5)
    big = evaluate_claims(frame(30 * np.exp(rng.normal(0, .1, 6)), 60 * np.exp(rng.normal(0, .1, 6))), planted)
    assert big["verdict"].iloc[0] == "supported"


def test_not_covered_when_a_side_is_missing_and_failed_runs_are_left_out():
    cf = claims_file(claim("loc"), claim("bn", a={"norm": "batch"}))
    runs = frame([30.0, 31.0, 33.0], [60.0, np.nan, 70.0], status_b=["ok", "diverged", "failed"])
    t = evaluate_claims(runs, cf).set_index("claim")
    assert t.loc["bn", "verdict"] == "not covered" and t.loc["loc", "n_b"] == 2  # the failed run is out
    assert t.loc["loc", "stat_b"] == pytest.approx((60.0 + 31337.0) / 2, abs=1e-9)  # unscored = sentinel


def test_every_number_is_reproducible_from_the_seed():
    rng = np.random.default_rng(6)
    runs = frame(30 * np.exp(rng.normal(0, .3, 40)), 35 * np.exp(rng.normal(0, .3, 40)))
    cf = claims_file(claim("loc"), claim("sp", "iqr", "greater"), n_perm=300, n_boot=100, seed=9)
    one, two = evaluate_claims(runs, cf), evaluate_claims(runs, cf)
    assert one.equals(two)
    other = evaluate_claims(runs, claims_file(claim("loc"), claim("sp", "iqr", "greater"), n_perm=300, n_boot=100,
                                              seed=10))
    assert not one["ci_lo"].equals(other["ci_lo"])


def _settings_frame(a_by_setting, b_by_setting):
    rows = []
    for side, loss, settings in (("a", "ns", a_by_setting), ("b", "wgan", b_by_setting)):
        for j, seeds in enumerate(settings):
            for s, v in enumerate(seeds):
                rows.append({"label": side, "setting": f"s{j}", "seed": s, "status": "ok", "fid_min": v,
                             "fid_final": v, "loss": loss, "dataset": "d", "arch": "x", "norm": "none",
                             "penalty": "none", "source": "grid"})
    return pd.DataFrame(rows)


def test_budget_claim_by_hand_and_planted():
    # one seed per setting: E[min of k = 2 of n = 4 drawn without replacement] = sum_i v_(i) C(n-i, 1) / C(4, 2)
    a, b = [10.0, 20.0, 30.0, 40.0], [50.0, 60.0, 70.0, 80.0]
    exact_a = (10 * 3 + 20 * 2 + 30 * 1) / 6
    cf = claims_file(claim("budget", "budget", "less", k=2, unit="settings"))
    t = evaluate_claims(_settings_frame([[v] for v in a], [[v] for v in b]), cf).iloc[0]
    assert t["stat_a"] == pytest.approx(exact_a, rel=0.05)   # 200 repetitions of the study's simulation
    assert t["stat_b"] == pytest.approx(exact_a + 40, rel=0.05)
    # 4 vs 4 settings, complete separation: 2 of the 70 splits reach |d|; 200 random permutations estimate it
    assert t["cliffs_delta"] == -1.0 and 0.01 < t["p"] < 0.07
    rng = np.random.default_rng(8)
    good = [list(20 + rng.normal(0, 1, 3)) for _ in range(8)]
    bad = [list(60 + rng.normal(0, 1, 3)) for _ in range(8)]
    t = evaluate_claims(_settings_frame(good, bad), cf).iloc[0]
    assert t["verdict"] == "supported" and t["p"] == pytest.approx(1 / 201, abs=1e-15)
    assert evaluate_claims(_settings_frame(good[:1], bad), cf).iloc[0]["verdict"] == "not covered"  # 1 < k
