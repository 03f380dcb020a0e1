"""ganaudit.study.validate.check_study against the run's own identities: what it calls "the same training
configuration" is what the train task hashes to the same key, and a setting applied to a composed
configuration hashes as the run's composed overrides do."""

import pytest

from ganaudit.study.spec import StudySpec
from ganaudit.study.tasks import TrainTask
from ganaudit.study.validate import _apply, check_study
from ganaudit.training.config import compose, config_hash
from ganaudit.utils.errors import ConfigError
from tests.study.test_expand import KEYS

BASE = ["dataset=digits", "arch=sndcgan", "trainer.d_steps=4"]
SETTINGS = [{"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_dis": 1, "lambda": 10.0},
            {"lr": 1e-3, "beta1": 0.5, "beta2": 0.9, "n_dis": 5, "lambda": 1.0}]


def spec(configs, **hp) -> StudySpec:
    return StudySpec.from_config({"name": "v", "base": BASE, "configurations": {"list": configs},
                                  "hparams": {"modes": ["fixed"], "fixed": SETTINGS, **hp}, "seeds": [0]}, KEYS)


def test_applied_setting_hashes_as_the_composed_run():
    s = spec([{"label": "GP", "overrides": ["penalty=wgan_gp", "norm=none"]}])
    cfg = check_study(s)["GP"]
    for run in s.expand_static():
        assert config_hash(_apply(s, cfg, run.hparams)) == TrainTask.config_hash(run.overrides)


@pytest.mark.parametrize("second, same", [
    (["loss=ns", "norm=spectral"], True),           # spectral is the default norm: the same runs
    (["loss=ns", "optim.lr=0.5"], True),            # lr is set by every setting anyway
    (["loss=wgan"], False),
    (["loss=ns", "norm=none"], False),
])
def test_refused_exactly_when_the_run_keys_collide(second, same):
    configs = [{"label": "A", "overrides": ["loss=ns"]}, {"label": "B", "overrides": second}]
    s = StudySpec.from_config({"name": "v", "base": BASE, "configurations": {"list": configs},
                               "hparams": {"modes": ["fixed"], "fixed": [{k: v for k, v in st.items() if k != "lambda"}
                                                                           for st in SETTINGS]},
                               "seeds": [0]}, KEYS)
    keys = {}
    for run in s.expand_static():
        keys.setdefault(run.label, set()).add(TrainTask.config_hash(run.overrides))
    assert bool(keys["A"] & keys["B"]) == same                 # the reference: the train task's own hashes
    if same:
        with pytest.raises(ConfigError, match="configurations 'A' and 'B' resolve to the same training"):
            check_study(s)
    else:
        assert set(check_study(s)) == {"A", "B"}


def test_disjoint_filters_of_one_configuration_are_two_labels():
    # as the norm slices' "GP" (n_dis 1) and "GP 5" (n_dis 5): same configuration, no run in common
    s = spec([{"label": "GP", "overrides": ["penalty=wgan_gp", "norm=none"], "only": {"n_dis": 1}},
              {"label": "GP 5", "overrides": ["penalty=wgan_gp", "norm=none"], "only": {"n_dis": 5}}])
    assert set(check_study(s)) == {"GP", "GP 5"}
    overlapping = spec([{"label": "GP", "overrides": ["penalty=wgan_gp", "norm=none"]},
                        {"label": "GP 5", "overrides": ["penalty=wgan_gp", "norm=none"], "only": {"n_dis": 5}}])
    with pytest.raises(ConfigError, match="'GP' and 'GP 5' resolve to the same training configuration"):
        check_study(overlapping)


def test_unused_lambda_within_one_label_is_not_a_duplicate():
    # dedupe_unpenalized false: two grid settings differ only in the unused lambda (one run, one label)
    s = StudySpec.from_config({"name": "v", "base": BASE, "configurations": {"axes": {"loss": ["ns"]}},
                               "hparams": {"modes": ["grid"], "grid": {"dedupe_unpenalized": False}},
                               "seeds": [0]}, KEYS)
    assert set(check_study(s)) == {"loss=ns"}


def test_penalty_from_the_base_is_refused_since_lambda_would_be_dropped():
    s = StudySpec.from_config({"name": "v", "base": [*BASE, "penalty=wgan_gp"],
                               "configurations": {"axes": {"loss": ["ns"]}},
                               "hparams": {"modes": ["fixed"], "fixed": SETTINGS}, "seeds": [0]}, KEYS)
    with pytest.raises(ConfigError, match="composes penalty 'wgan_gp' from the base"):
        check_study(s)
    assert compose([*BASE, "penalty=wgan_gp"]).penalty.name == "wgan_gp"
