"""The dataset registry, its Hydra option files and the committed digits manifest agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ganaudit.data import DATASETS
from ganaudit.utils.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
PINNED = {"digits": (32, 1797, 500), "cifar10": (32, 60000, 10000),
          "celeba_hq_128": (128, 30000, 3000), "lsun_bedroom": (128, 3033042, 30588)}


def test_registry_names_are_exactly_the_conf_options():
    conf_names = sorted(p.stem for p in (REPO / "conf" / "dataset").glob("*.yaml"))
    assert DATASETS.names() == conf_names == sorted(PINNED)


@pytest.mark.parametrize("name", DATASETS.names())
def test_pinned_facts_and_conf_keys(name):
    info = DATASETS.get(name)
    assert (info.resolution, info.n_total, info.n_test) == PINNED[name]
    cfg = OmegaConf.load(REPO / "conf" / "dataset" / f"{name}.yaml")
    cfg = OmegaConf.merge({"paths": {"data": "/x/data/prepared"}}, {"dataset": cfg})
    assert cfg.dataset.name == name
    assert cfg.dataset.resolution == info.resolution
    assert cfg.dataset.data_dir == f"/x/data/prepared/{name}"
    assert cfg.dataset.n_test == info.n_test
    assert cfg.dataset.preprocessing_version == info.preprocessing_version
    assert "data/raw" in info.raw_hint or name == "digits"


def test_unknown_dataset_is_a_config_error():
    with pytest.raises(ConfigError, match="allowed values.*celeba_hq_128, cifar10, digits"):
        DATASETS.get("mnist")


def test_params_and_dvc_prepare_stage_cover_the_default():
    import yaml

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert params["datasets"] == ["digits"] and all(d in DATASETS for d in params["datasets"])
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    prep = stages["prepare"]
    assert prep["foreach"] == "${datasets}"
    assert "data/raw/inventory/${item}.json" in prep["do"]["deps"]
    outs = [next(iter(o)) if isinstance(o, dict) else o for o in prep["do"]["outs"]]
    assert outs == ["data/prepared/${item}", "splits/${item}.json"]


def test_committed_digits_manifest_is_well_formed():
    m = json.loads((REPO / "splits" / "digits.json").read_text())
    assert (m["dataset"], m["seed"], m["n_total"], m["n_test"]) == ("digits", 0, 1797, 500)
    assert m["splits"]["train"]["size"] == 1297 and m["splits"]["test"]["size"] == 500
    assert len(m["test_ids"]) == 500 == len(set(m["test_ids"]))
    assert m["test_ids"] == sorted(m["test_ids"])
