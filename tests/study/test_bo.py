"""Sequential BO: 12 rounds x 10 proposals per n_dis value, seeded, resumable, Table-2 search space."""

import math
from collections import Counter

import pytest

from ganaudit.study.bo import BayesOpt, bo_groups
from ganaudit.study.spec import StudySpec
from tests.study.test_expand import KEYS


def bo_spec(rounds=12, batch=10, seed=0, n_startup=10, penalty="wgan_gp", n_dis=(1, 5)):
    return StudySpec.from_config({
        "name": "bo_t", "base": ["dataset=digits"],
        "configurations": {"axes": {"penalty": [penalty]}},
        "hparams": {"modes": ["bo"], "bo": {"rounds": rounds, "batch": batch, "seed": seed, "n_dis": list(n_dis),
                                            "n_startup_trials": n_startup, "seeds": [0]}},
        "seeds": [0]}, KEYS)


def objective(run):
    """A smooth stand-in objective of the proposed setting (no training)."""
    hp = run.hparams
    return 20 + 10 * (math.log10(hp["lr"]) + 3.5) ** 2 + 5 * hp["beta1"] + hp["n_dis"]


def drive(spec, journal):
    launched = []
    bo = BayesOpt(spec, journal)
    bo.run(lambda runs: launched.extend(runs), objective)
    return bo, launched


def test_12_rounds_of_10_per_n_dis_value(tmp_path):
    # all-random proposals (n_startup >= total) keep this fast; the GP path is checked below and in slow
    bo, launched = drive(bo_spec(n_startup=1000), None)   # in memory: the journal's fsyncs cost ~8 s here
    props = bo.proposals()
    assert len(props) == len(launched) == 2 * 12 * 10
    per = Counter((p["group"], p["round"]) for p in props)
    assert set(per.values()) == {10} and len(per) == 2 * 12
    assert {r.hparams["n_dis"] for r in launched} == {1, 5}
    assert all(p["state"] == "COMPLETE" for p in props)
    for r in launched:   # Table 2 ranges; lambda log range of GP
        assert 1e-5 <= r.hparams["lr"] <= 1e-2 and 1e-1 <= r.hparams["lambda"] <= 1e2
        assert 0 <= r.hparams["beta1"] < 1 and 0 <= r.hparams["beta2"] < 1
        assert r.source == "bo" and r.bo_round is not None


def test_no_penalty_no_lambda_and_l2_range(tmp_path):
    _, none_runs = drive(bo_spec(rounds=1, penalty="none", n_dis=(1,)), tmp_path / "a.journal")
    assert all("lambda" not in r.hparams for r in none_runs)
    _, l2_runs = drive(bo_spec(rounds=1, penalty="l2", n_dis=(1,)), tmp_path / "b.journal")
    assert all(1e-4 <= r.hparams["lambda"] <= 1e1 for r in l2_runs)
    assert min(r.hparams["lambda"] for r in l2_runs) < 1e-1   # uses the L2 range, not GP's


@pytest.mark.timeout(120)
def test_gp_bo_same_seed_same_proposals_twice(tmp_path):
    spec = bo_spec(rounds=2, batch=5, n_startup=5, n_dis=(1,))   # round 2 is proposed by the GP
    a = [p["params"] for p in drive(spec, tmp_path / "a.journal")[0].proposals()]
    b = [p["params"] for p in drive(spec, tmp_path / "b.journal")[0].proposals()]
    c = [p["params"] for p in drive(bo_spec(rounds=1, batch=5, n_dis=(1,), seed=7), None)[0].proposals()]
    assert len(a) == 10 and len({tuple(sorted(p.items())) for p in a}) == 10   # distinct proposals
    assert a == b
    assert a[:5] != c


def test_resume_keeps_rounds_and_retries_pending(tmp_path):
    journal = tmp_path / "bo.journal"
    spec = bo_spec(rounds=3, n_startup=1000, n_dis=(1,))
    launched = []
    pending_once = set()

    def flaky(run):     # first invocation: two proposals of round 1 "fail" (stay pending)
        if run.bo_round == 1 and run.bo_trial in (10, 11) and run.bo_trial not in pending_once:
            pending_once.add(run.bo_trial)
            return "pending"
        return objective(run)

    BayesOpt(spec, journal).run(lambda runs: launched.extend(runs), flaky)
    first = BayesOpt(spec, journal).proposals()
    assert Counter(p["state"] for p in first) == {"COMPLETE": 28, "RUNNING": 2}
    relaunched = []
    BayesOpt(spec, journal).run(lambda runs: relaunched.extend(runs), objective)
    assert sorted(r.bo_trial for r in relaunched) == [10, 11]   # only the pending ones, no new proposals
    again = BayesOpt(spec, journal).proposals()
    assert len(again) == 30 and all(p["state"] == "COMPLETE" for p in again)
    assert [p["params"] for p in again] == [p["params"] for p in first]


def test_nonfinite_outcome_told_fail_or_value(tmp_path):
    spec = bo_spec(rounds=1, n_dis=(1,))
    BayesOpt(spec, tmp_path / "a.journal").run(lambda runs: None, lambda run: "nonfinite")
    assert {p["state"] for p in BayesOpt(spec, tmp_path / "a.journal").proposals()} == {"FAIL"}
    spec.hparams["bo"]["diverged_value"] = 500.0
    BayesOpt(spec, tmp_path / "b.journal").run(lambda runs: None, lambda run: "nonfinite")
    assert {p["value"] for p in BayesOpt(spec, tmp_path / "b.journal").proposals()} == {500.0}


def test_groups_follow_only_filter():
    spec = StudySpec.from_config({
        "name": "g", "configurations": {"list": [{"label": "GP 5", "overrides": ["penalty=wgan_gp"],
                                                  "only": {"n_dis": 5}},
                                                 {"label": "SN", "overrides": ["norm=spectral"]}]},
        "hparams": {"modes": ["bo"]}, "seeds": [0]}, KEYS)
    assert [g.name for g in bo_groups(spec)] == ["GP 5|n_dis=5", "SN|n_dis=1", "SN|n_dis=5"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_full_gp_bo_12x10_improves_over_first_round(tmp_path):
    bo, launched = drive(bo_spec(n_dis=(1,)), tmp_path / "bo.journal")
    vals = [objective(r) for r in launched]
    assert len(vals) == 120
    assert min(vals[10:]) < min(vals[:10])     # GP rounds find better than the random first round
