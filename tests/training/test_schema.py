"""The config schema: every option file starts from its group's schema, Hydra refuses unknown keys and
mistyped values, the YAML sets every value, and the run's objects come from the ``lightning`` node."""

from __future__ import annotations

import pytest
import yaml
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ganaudit.training.config import compose, conf_dir, validate
from ganaudit.training.schema import GROUP_SCHEMAS, PRIMARY_SCHEMAS
from ganaudit.utils.errors import ConfigError


def _defaults(path) -> list:
    return (yaml.safe_load(path.read_text()) or {}).get("defaults", [])


@pytest.mark.parametrize("group", sorted(GROUP_SCHEMAS))
def test_every_option_file_starts_from_its_group_schema(group):
    files = sorted((conf_dir() / group).glob("*.yaml"))
    assert files, group
    for path in files:
        first = _defaults(path)[0] if _defaults(path) else None
        # trainer/smoke extends trainer/default, which starts from the schema
        assert first in GROUP_SCHEMAS[group] or (first == "default" and group == "trainer"), path


@pytest.mark.parametrize("name", ["config", "evaluate", "run_study"])
def test_every_primary_config_starts_from_its_schema(name):
    assert _defaults(conf_dir() / f"{name}.yaml")[0] == f"base_{name}"
    assert f"base_{name}" in PRIMARY_SCHEMAS


@pytest.mark.parametrize("overrides", [["trainer.stepz=5"], ["+trainer.stepz=5"]])
def test_unknown_key_is_refused_naming_the_nearest_keys(overrides):
    with pytest.raises(ConfigError) as err:
        validate(compose(overrides))
    msg = str(err.value)
    assert msg.startswith("unknown option 'trainer.stepz': no part of ganaudit reads it") and "trainer.d_steps" in msg


@pytest.mark.parametrize("name, override, key", [
    ("config", "+typo=1", "typo"),
    ("config", "+optim.momentum=0.9", "optim.momentum"),
    ("config", "dataset.downsample=box_chain", "dataset.downsample"),  # a CelebA-HQ option only
    ("evaluate", "+sampels=x.npz", "sampels"),
    ("run_study", "+lanch.gpus=1", "lanch"),
])
def test_unknown_keys_of_every_primary_config_are_refused(name, override, key):
    with pytest.raises(ConfigError, match=f"^unknown option '{key}'"):
        compose([override], config_name=name)


@pytest.mark.parametrize("override, expected", [
    ("optim.n_dis=1.5", "option 'optim.n_dis' = 1.5: expected an integer"),
    ("trainer.d_steps=ten", "option 'trainer.d_steps' = 'ten': expected an integer"),
    ("optim.lr=fast", "option 'optim.lr' = 'fast': expected a number"),
    ("trainer.deterministic=maybe", "option 'trainer.deterministic' = 'maybe': expected true or false"),
])
def test_mistyped_values_are_refused_by_the_schema(override, expected):
    with pytest.raises(ConfigError) as err:
        compose([override])
    assert str(err.value) == expected


def test_free_form_nodes_accept_new_entries():
    cfg = compose(["+meta.note=mine", "+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor"])
    validate(cfg)
    assert cfg.meta.note == "mine" and "lr_monitor" in cfg.callbacks


@pytest.mark.parametrize("overrides", [[], ["experiment=kurach2019/hub13"], ["dataset=celeba_hq_128", "arch=resnet19"]])
def test_the_yaml_sets_every_value_the_schema_declares(overrides):
    assert OmegaConf.missing_keys(compose(overrides)) == set()


def test_the_float_type_of_an_option_is_kept_for_integer_input():
    cfg = compose(["arch.width=1", "penalty=wgan_gp", "penalty.weight=10"])
    assert (cfg.arch.width, cfg.penalty.weight) == (1.0, 10.0)
    assert type(cfg.arch.width) is float and type(cfg.penalty.weight) is float


def test_module_is_built_from_the_options_it_interpolates():
    cfg = compose(["loss=hinge", "penalty=dragan", "penalty.weight=3.5", "norm=none", "optim.lr=0.001",
                   "optim.n_dis=5", "optim.impl=torch", "arch.width=0.0625", "arch.init=v3",
                   "arch.conv_kernels=fixed_order"])
    module = instantiate(cfg.lightning.module)
    hp = module.hparams
    assert dict(hp) == {"loss": "hinge", "penalty": "dragan", "penalty_weight": 3.5, "norm": "none",
                        "arch": "sndcgan", "resolution": 32, "width": 0.0625, "z_dim": 128, "init": "v3",
                        "conv_kernels": "fixed_order", "lr": 0.001, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8,
                        "adam_impl": "torch", "n_dis": 5, "log_every": 50}
    assert {m.conv_kernels for m in module.modules() if hasattr(m, "conv_kernels")} == {"fixed_order"}


def test_datamodule_and_trainer_nodes_follow_the_options(tmp_path):
    cfg = compose(["dataset=cifar10", f"paths.root={tmp_path}", "trainer.batch_size=8", "data_seed=3",
                   "trainer.num_workers=2"])
    dm = instantiate(cfg.lightning.datamodule)
    assert (dm.dataset_name, dm.data_dir, dm.batch_size, dm.seed, dm.num_workers) == \
        ("cifar10", f"{tmp_path}/data/prepared/cifar10", 8, 3, 2)
    node = cfg.lightning.trainer
    assert node.max_steps == 100000 and node.deterministic is True and node.log_every_n_steps == 50
    assert compose(["trainer.stop_at=7"]).lightning.trainer.max_steps == 7  # min(stop_at, d_steps)
    assert compose(["trainer.stop_at=700000"]).lightning.trainer.max_steps == 100000
