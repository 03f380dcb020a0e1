"""Study expansion: Table-1 grid (24 x 5 seeds), Table-2 random ranges and log scales, study files."""

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from scipy import stats

from ganaudit.study.hparams import grid_settings, random_settings, setting_id, setting_overrides
from ganaudit.study.spec import StudySpec
from ganaudit.utils.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"
KEYS = OmegaConf.to_container(OmegaConf.load(CONF / "run_study.yaml")["hparam_keys"])
STUDY_FILES = sorted(p.stem for p in (CONF / "study").glob("*.yaml"))


def spec_of(**study) -> StudySpec:
    base = {"name": "t", "base": ["dataset=digits"], "configurations": {"axes": {"penalty": ["wgan_gp"]}},
            "hparams": {"modes": ["grid"]}, "seeds": [0, 1, 2, 3, 4]}
    base.update(study)
    return StudySpec.from_config(base, KEYS)


def test_grid_is_table1_24_settings_times_5_seeds():
    runs = spec_of().expand_static()
    assert len(runs) == 24 * 5
    settings = {tuple(sorted(r.hparams.items())) for r in runs}
    assert len(settings) == 24
    assert {r.hparams["lr"] for r in runs} == {2e-4, 1e-4, 1e-3}
    assert {r.hparams["lambda"] for r in runs} == {1.0, 10.0}
    assert {(r.hparams["beta1"], r.hparams["beta2"], r.hparams["n_dis"]) for r in runs} == {
        (0.5, 0.9, 5), (0.5, 0.999, 1), (0.5, 0.999, 5), (0.9, 0.999, 5)}
    assert sorted({r.seed for r in runs}) == [0, 1, 2, 3, 4]
    one = runs[0]
    assert one.overrides[:2] == ["dataset=digits", "penalty=wgan_gp"]
    assert "optim.lr=0.0002" in one.overrides and one.overrides[-1] == "seed=0"
    assert any(o.startswith("penalty.weight=") for o in one.overrides)


@pytest.mark.parametrize("dedupe, expected", [(True, 12), (False, 24)])
def test_unpenalized_grid_dedupe_option(dedupe, expected):
    settings = grid_settings("none", {"dedupe_unpenalized": dedupe})
    assert len(settings) == expected
    assert all(("lambda" in s) == (not dedupe) for s in settings)
    assert len({setting_id(s) for s in settings}) == expected


def test_random_settings_respect_table2_ranges_and_log_scales():
    gp = random_settings("wgan_gp", {"n": 4000, "seed": 3})
    l2 = random_settings("l2", {"n": 4000, "seed": 3})
    none = random_settings("none", {"n": 10, "seed": 3})
    lr = np.array([s["lr"] for s in gp])
    assert lr.min() >= 1e-5 and lr.max() <= 1e-2
    # log-uniform: log10(lr) is uniform on [-5, -2] (two-sided KS test), lr itself is not
    assert stats.kstest((np.log10(lr) + 5) / 3, "uniform").pvalue > 1e-3
    assert stats.kstest((lr - 1e-5) / (1e-2 - 1e-5), "uniform").pvalue < 1e-6
    lam_gp, lam_l2 = np.array([s["lambda"] for s in gp]), np.array([s["lambda"] for s in l2])
    assert 1e-1 <= lam_gp.min() and lam_gp.max() <= 1e2
    assert 1e-4 <= lam_l2.min() and lam_l2.max() <= 1e1
    assert stats.kstest((np.log10(lam_gp) + 1) / 3, "uniform").pvalue > 1e-3
    assert stats.kstest((np.log10(lam_l2) + 4) / 5, "uniform").pvalue > 1e-3
    for beta in ("beta1", "beta2"):
        b = np.array([s[beta] for s in gp])
        assert 0 <= b.min() and b.max() < 1
        assert stats.kstest(b, "uniform").pvalue > 1e-3
    nd = np.array([s["n_dis"] for s in gp])
    assert set(nd) == {1, 5} and 0.45 < (nd == 5).mean() < 0.55
    assert all("lambda" not in s for s in none)
    # common random numbers: same lr/betas for every penalty, only lambda's range differs
    assert [s["lr"] for s in gp[:10]] == [s["lr"] for s in l2[:10]] == [s["lr"] for s in none]
    # lambda maps the same unit draw into each log range: log10 positions agree
    np.testing.assert_allclose((np.log10(lam_gp) + 1) / 3, (np.log10(lam_l2) + 4) / 5, rtol=0, atol=1e-12)


def test_random_settings_seeded():
    a = random_settings("wgan_gp", {"n": 5, "seed": 1})
    assert a == random_settings("wgan_gp", {"n": 5, "seed": 1})
    assert a != random_settings("wgan_gp", {"n": 5, "seed": 2})


def test_setting_overrides_use_hparam_keys():
    ov = setting_overrides({"lr": 1e-4, "beta1": 0.5, "beta2": 0.9, "n_dis": 5, "lambda": 10.0}, KEYS)
    assert ov == ["optim.lr=0.0001", "optim.beta1=0.5", "optim.beta2=0.9", "optim.n_dis=5",
                  "penalty.weight=10.0"]
    with pytest.raises(ConfigError, match="hparam_keys"):
        setting_overrides({"lr": 1e-4}, {})


def test_axis_given_as_mapping_and_only_filter():
    spec = spec_of(configurations={
        "axes": {"loss": ["ns", "wgan"], "reg": {"SN": ["norm=spectral"], "GP": ["penalty=wgan_gp"]}},
        "list": [{"label": "GP 5", "overrides": ["penalty=wgan_gp"], "only": {"n_dis": 5}}]})
    labels = [c.label for c in spec.configurations]
    assert labels == ["loss=ns,reg=SN", "loss=ns,reg=GP", "loss=wgan,reg=SN", "loss=wgan,reg=GP", "GP 5"]
    by = {c.label: c for c in spec.configurations}
    assert by["loss=wgan,reg=GP"].overrides == ("loss=wgan", "penalty=wgan_gp")
    assert by["loss=ns,reg=SN"].penalty == "none" and by["GP 5"].penalty == "wgan_gp"
    assert len(spec.settings_for(by["GP 5"], "grid")) == 3 * 2 * 3   # the three n_dis=5 triples
    assert len(spec.settings_for(by["loss=ns,reg=SN"], "grid")) == 12


@pytest.mark.parametrize("bad, match", [
    ({"hparams": {"modes": ["nope"]}}, "unknown mode"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"configurations": {}}, "empty"),
    ({"name": ""}, "study.name"),
    ({"hparams": {"modes": ["fixed"]}}, "hparams.fixed is empty"),
    # a list entry that names axes directly would otherwise train the base configuration silently
    ({"configurations": {"list": [{"label": "x", "loss": "hinge"}]}}, "unknown key 'loss'"),
])
def test_malformed_study_raises_config_error(bad, match):
    with pytest.raises(ConfigError, match=match):
        spec_of(**bad).expand_static()


@pytest.mark.parametrize("name", STUDY_FILES)
def test_every_study_file_parses_and_expands(name):
    raw = OmegaConf.to_container(OmegaConf.load(CONF / "study" / f"{name}.yaml"))
    assert raw["name"] == name
    spec = StudySpec.from_config(raw, KEYS)
    runs = spec.expand_static()
    assert runs and len({(r.label, r.setting, r.seed) for r in runs}) == len(runs)
    for c in spec.configurations:
        n = sum(r.label == c.label for r in runs)
        grid = len(spec.settings_for(c, "grid")) if "grid" in spec.modes else 0
        assert n >= grid * len(spec.seeds)
    if "grid" in spec.modes:   # Table 1: 24 settings with a penalty, 12 without (deduped)
        for c in spec.configurations:
            if not c.only:
                assert len(spec.settings_for(c, "grid")) == (12 if c.penalty == "none" else 24)


def test_demo_study_shape():
    spec = StudySpec.from_config(OmegaConf.load(CONF / "study" / "demo.yaml"), KEYS)
    runs = spec.expand_static()
    assert len(spec.configurations) == 2 and spec.seeds == [0, 1, 2] and len(runs) == 6
    assert {r.hparams["lr"] for r in runs} == {0.001} and {r.label for r in runs} == {"loss=hinge,norm=spectral",
                                                                                   "loss=wgan,norm=spectral"}
    assert all("dataset=digits" in r.overrides for r in runs)
