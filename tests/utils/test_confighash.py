"""The identity of a configuration: a hash recomputable from the resolved config alone."""

from __future__ import annotations

import hashlib
import json

import pytest

from ganaudit.training.config import compose, config_hash, to_plain
from ganaudit.utils.confighash import config_hash_of, semantic_part, verify_embedded
from ganaudit.utils.errors import CheckpointError


def test_hash_is_sha256_of_the_canonical_json_by_hand():
    plain = {"loss": {"name": "ns"}, "arch": {"width": 0.5, "name": "sndcgan"}}
    blob = '{"arch":{"name":"sndcgan","width":0.5},"loss":{"name":"ns"}}'  # sorted keys, no spaces
    assert config_hash_of(plain) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    assert json.dumps(semantic_part(plain), sort_keys=True, separators=(",", ":")) == blob


def test_unhashed_keys_and_an_unused_lambda_do_not_count():
    base = {"loss": {"name": "ns"}, "penalty": {"name": "none", "weight": 1.0}, "seed": 0,
            "paths": {"root": "/a"}, "trainer": {"d_steps": 10, "keep": "all"}}
    moved = {**base, "seed": 7, "paths": {"root": "/b"}, "trainer": {"d_steps": 10, "keep": "last"},
             "penalty": {"name": "none", "weight": 10.0}}
    assert config_hash_of(base) == config_hash_of(moved)
    assert config_hash_of(base) != config_hash_of({**base, "trainer": {"d_steps": 11, "keep": "all"}})
    gp = {**base, "penalty": {"name": "wgan_gp", "weight": 1.0}}
    assert config_hash_of(gp) != config_hash_of({**gp, "penalty": {"name": "wgan_gp", "weight": 10.0}})
    assert base["seed"] == 0 and "paths" in base  # the input is not modified


@pytest.mark.parametrize("overrides", [[], ["loss=hinge", "norm=spectral"],
                                       ["experiment=kurach2019/hub13"]])
def test_training_hash_is_the_hash_of_the_stored_plain_config(overrides):
    cfg = compose(overrides)
    assert config_hash(cfg) == config_hash_of(to_plain(cfg))


def test_verify_embedded_refuses_an_edited_config_or_hash():
    config = {"loss": {"name": "ns"}, "seed": 3}
    verify_embedded({"config": config, "config_hash": config_hash_of(config)}, "x.ckpt")
    verify_embedded({"config_hash": "anything"}, "x.ckpt")  # no embedded config: nothing to recompute
    with pytest.raises(CheckpointError, match="x.ckpt.*stored config hash 0000000000000000 is not the hash"):
        verify_embedded({"config": config, "config_hash": "0" * 16}, "x.ckpt")
    edited = {**config, "loss": {"name": "hinge"}}
    with pytest.raises(CheckpointError, match="edited after training"):
        verify_embedded({"config": edited, "config_hash": config_hash_of(config)}, "x.ckpt")
