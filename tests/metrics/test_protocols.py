"""Protocols: every registered one is complete and consistent; the study's numbers are the spec's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganaudit.metrics import EXTRACTORS, PROTOCOLS, protocol_for
from ganaudit.utils.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf" / "eval" / "default.yaml"


@pytest.mark.parametrize("name", PROTOCOLS.names())
def test_every_protocol_is_complete(name):
    p = PROTOCOLS.get(name)
    assert p.name == name
    assert p.extractor in EXTRACTORS
    assert p.real_split in ("train", "test")
    assert set(p.n_real) == set(p.n_fake) and p.n_fake
    assert set(p.ms_ssim_datasets) <= set(p.n_fake)
    assert set(p.metrics) <= {"fid", "is", "kid"} and "fid" in p.metrics
    assert p.dtype == "float64" and p.latent_seed == 42 and p.nan_fid == 31337.0
    for dataset in p.n_fake:
        assert protocol_for(dataset, name) is p
        n_real, n_fake = p.counts(dataset)
        assert n_fake >= 2 and (n_real is None or n_real >= 2)
    assert "kid" not in p.metrics or p.keep_real_features


def test_kurach2019_is_the_study_protocol():
    p = PROTOCOLS.get("kurach2019")
    assert p.extractor == "inception_2015_12_05" and p.real_split == "test"
    assert p.counts("cifar10") == (10_000, 10_000)
    assert p.counts("lsun_bedroom") == (10_000, 10_000)
    assert p.counts("celeba_hq_128") == (3_000, 3_000)
    assert p.ms_ssim_datasets == ("celeba_hq_128",)
    assert (p.gen_batch, p.extract_batch, p.kid_block) == (64, 50, 1024)
    assert (p.diversity_batches, p.diversity_batch_size) == (5, 64)
    # [V2]: sigma 1.5 at every MS-SSIM scale, np.random latents, IS from logits:0 (with the bias)
    assert (p.ms_ssim_shrink_sigma, p.latent_rng, p.is_logits) == (False, "numpy_legacy", "with_bias")


def test_other_protocols():
    t = PROTOCOLS.get("ttur50k_train")
    assert t.real_split == "train" and t.counts("cifar10") == (None, 50_000)
    d = PROTOCOLS.get("digits_cnn")
    assert d.extractor == "digits_cnn" and d.counts("digits") == (500, 500)


def test_auto_and_refusals():
    assert protocol_for("digits").name == "digits_cnn"
    assert protocol_for("cifar10", "auto").name == "kurach2019"
    with pytest.raises(ConfigError, match="not defined for dataset 'digits'"):
        protocol_for("digits", "kurach2019")
    with pytest.raises(ConfigError, match="allowed values"):
        protocol_for("cifar10", "fid50k")


def test_eval_config_defaults():
    cfg = yaml.safe_load(CONF.read_text())
    assert cfg["enabled"] is True and cfg["protocol"] == "auto" and cfg["every"] == 20000
    # the default names a protocol for every dataset in the config group (spec §5: the study's protocol
    # for the study's datasets; the digits classifier for the offline demo)
    datasets = sorted(p.stem for p in (CONF.parents[1] / "dataset").glob("*.yaml"))
    assert datasets == ["celeba_hq_128", "cifar10", "digits", "lsun_bedroom"]
    chosen = {d: protocol_for(d, cfg["protocol"]).name for d in datasets}
    assert chosen == {"celeba_hq_128": "kurach2019", "cifar10": "kurach2019", "digits": "digits_cnn",
                      "lsun_bedroom": "kurach2019"}
