"""Configuration: composition, registries vs conf/, validation messages, hashing, Table 1, experiments."""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import pytest

from ganaudit.audit import baselines
from ganaudit.training.config import AXIS_GROUPS, _registry, compose, conf_dir, config_hash, run_dir, validate
from ganaudit.utils.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("group", ["loss", "penalty", "norm", "arch"])
def test_conf_options_equal_registry_names(group):
    options = sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
    assert options == _registry(group).names()
    for name in options:  # each option file names itself
        assert compose([f"{group}={name}", "norm=none" if group != "norm" else "arch=resnet19",
                        "dataset=celeba_hq_128"])[group].name == name


def test_default_config_is_valid_and_faithful():
    cfg = compose([])
    validate(cfg)
    assert (cfg.loss.name, cfg.optim.eps, cfg.trainer.batch_size, cfg.arch.z_dim) == ("ns", 1e-8, 64, 128)
    assert cfg.optim.beta1 == 0.5 and cfg.optim.n_dis == 1 and cfg.arch.width == 1.0
    smoke = compose(["trainer=smoke"])
    assert (smoke.trainer.d_steps, smoke.trainer.batch_size, smoke.trainer.checkpoint_every) == (20, 16, 10)
    assert smoke.trainer.precision == "32-true"  # the rest comes from trainer/default


@pytest.mark.parametrize(
    "overrides, option, allowed",
    [
        (["loss=foo"], "loss", "hinge, ls, mm, ns, wgan"),
        (["penalty=gp"], "penalty", "dragan, l2, none, wgan_gp"),
        (["arch=dcgan"], "arch", "resnet19, resnet_cifar, sndcgan"),
        (["norm=batch"], "norm", "none, spectral"),  # sndcgan + batch norm
        (["norm=layer"], "norm", "none, spectral"),
        (["penalty=wgan_gp", "penalty.weight=-1"], "penalty.weight", ">= 0"),
        (["optim.lr=0"], "optim.lr", "> 0"),
        (["optim.lr=-0.001"], "optim.lr", "> 0"),
        (["optim.beta1=1.0"], "optim.beta1", "[0, 1)"),
        (["optim.beta2=-0.1"], "optim.beta2", "[0, 1)"),
        (["optim.n_dis=0"], "optim.n_dis", ">= 1"),
        (["optim.n_dis=1.5"], "optim.n_dis", "integer"),
        (["arch=resnet19", "dataset=cifar10"], "dataset.resolution", "128"),
        (["arch=resnet_cifar", "dataset=celeba_hq_128"], "dataset.resolution", "32"),
        (["arch.resolution=48"], "arch.resolution", "(32)"),
        (["trainer.d_steps=0"], "trainer.d_steps", ">= 1"),
        (["trainer.batch_size=1"], "trainer.batch_size", ">= 2"),
        (["arch.width=0"], "arch.width", "> 0"),
        (["seed=-1"], "seed", "[0, 2**32)"),
        (["trainer.cpu_threads=0"], "trainer.cpu_threads", ">= 1"),
        (["trainer.precision=16-mixed"], "trainer.precision", "32-true"),
        (["trainer.precision=bf16-mixed"], "trainer.precision", "tf32"),
        (["optim.impl=sgd"], "optim.impl", "tf1, torch"),
        (["data_seed=1.5"], "data_seed", "integer"),
    ],
)
def test_invalid_configs_fail_naming_option_and_allowed_values(overrides, option, allowed):
    with pytest.raises(ConfigError) as err:
        validate(compose(overrides))
    msg = str(err.value)
    assert f"'{option}'" in msg and allowed in msg, msg


def test_invalid_config_fails_before_anything_is_written(tmp_path):
    from ganaudit.training.train import train

    with pytest.raises(ConfigError, match="optim.n_dis"):
        train(compose([f"paths.root={tmp_path}", "optim.n_dis=0"]))
    assert not (tmp_path / "runs").exists()


def test_config_hash_is_semantic():
    base = compose([])
    h = config_hash(base)
    assert re.fullmatch(r"[0-9a-f]{16}", h), h
    assert config_hash(compose([])) == h  # stable
    # not part of what is trained: paths, seed, UI flags, checkpoint cadence
    for ov in (["paths.root=/elsewhere"], ["seed=7"], ["trainer.progress_bar=false"],
               ["trainer.checkpoint_every=5"], ["trainer.stop_at=3"], ["+meta.note=x"]):
        assert config_hash(compose(ov)) == h, ov
    for ov in (["optim.lr=0.001"], ["loss=ls"], ["trainer.d_steps=5"], ["arch.width=0.5"]):
        assert config_hash(compose(ov)) != h, ov
    # lambda is ignored without a penalty (spec §2.4), not with one
    assert config_hash(compose(["penalty.weight=10"])) == h
    gp = compose(["penalty=wgan_gp", "penalty.weight=1"])
    assert config_hash(gp) != config_hash(compose(["penalty=wgan_gp", "penalty.weight=10"]))
    assert run_dir(compose(["seed=3", "paths.root=/r"])) == Path(f"/r/runs/{h}-s3")


# ----------------------------------------------------------------------------------------- Table 1
def test_table1_grid_has_the_24_settings_of_the_spec():
    files = sorted((conf_dir() / "hparams").glob("table1_*.yaml"))
    assert len(files) == 24
    got = set()
    for f in files:
        cfg = compose([f"hparams={f.stem}", "penalty=wgan_gp"])
        validate(cfg)
        got.add((cfg.optim.lr, cfg.penalty.weight, cfg.optim.beta1, cfg.optim.beta2, cfg.optim.n_dis))
    # ICML Table 1 as written in spec §5.2
    expected = {(lr, lam, b1, b2, nd) for lr in (0.0002, 0.0001, 0.001) for lam in (1, 10)
                for (b1, b2, nd) in ((0.5, 0.9, 5), (0.5, 0.999, 1), (0.5, 0.999, 5), (0.9, 0.999, 5))}
    assert got == expected and len(got) == 24


def test_table1_without_penalty_collapses_to_12_trainings():
    hashes = {config_hash(compose([f"hparams=table1_{i:02d}"])) for i in range(24)}
    assert len(hashes) == 12
    hashes = {config_hash(compose([f"hparams=table1_{i:02d}", "penalty=dragan"])) for i in range(24)}
    assert len(hashes) == 24


# ------------------------------------------------------------------------------------- experiments
CSV_PATH = REPO / "audits" / "baselines" / "published_models.csv"


def _csv_rows():
    with open(CSV_PATH, newline="") as fh:
        return {r["row_id"]: r for r in csv.DictReader(fh)}


def test_generated_files_equal_what_grid_and_csv_imply():
    assert baselines.check() == []


def test_every_csv_row_is_an_experiment_or_documented_as_unsupported():
    rows = _csv_rows()
    present = {p.stem for p in (conf_dir() / "experiment" / "kurach2019").glob("*.yaml")}
    unsupported = baselines.unsupported_rows()
    assert present | set(unsupported) == set(rows) and not present & set(unsupported)
    expected_present = {r for r in rows if r.startswith(("hub", "sndcgan_L", "resnet19_L", "resnetcifar_L",
                                                         "kurach_tab6_"))}
    expected_present |= {"v3cfg_resnet_cifar10", "v3cfg_resnet_lsun_bedroom128", "v3cfg_sndcgan_celebahq128"}
    assert present == expected_present
    notes = (REPO / "docs" / "notes" / "training.md").read_text()
    assert all(row in notes for row in unsupported)


@pytest.mark.parametrize("row", sorted(p.stem for p in (conf_dir() / "experiment/kurach2019").glob("*.yaml")))
def test_experiment_composes_validates_and_carries_published_numbers(row):
    cfg = compose([f"experiment=kurach2019/{row}"])
    validate(cfg)
    r = _csv_rows()[row]
    assert cfg.meta.row_id == row and cfg.meta.source == r["source"]
    fid = r["fid"].strip()
    assert cfg.meta.fid == (float(fid) if fid.replace(".", "").isdigit() else None)
    assert cfg.trainer.batch_size == 64 and cfg.arch.z_dim == 128
    assert cfg.arch.resolution == int(r["resolution"].split("x")[0])


def test_experiment_values_hand_checked():
    hub09 = compose(["experiment=kurach2019/hub09"])  # ResNet19 CelebA-HQ NS LN+DR(1) 1e-4 .5 .9 n_dis 5
    assert (hub09.arch.name, hub09.norm.name, hub09.penalty.name, hub09.penalty.weight) == (
        "resnet19", "layer", "dragan", 1.0)
    assert (hub09.optim.lr, hub09.optim.beta1, hub09.optim.beta2, hub09.optim.n_dis) == (1e-4, 0.5, 0.9, 5)
    assert (hub09.dataset.name, hub09.seed, hub09.trainer.d_steps, hub09.meta.fid) == (
        "celeba_hq_128", 2, 200000, 29.13)
    l03 = compose(["experiment=kurach2019/sndcgan_L03"])  # celebahq128 100K none 4.12e-4 .246 .341 s23
    assert (l03.arch.name, l03.norm.name, l03.penalty.name, l03.optim.lr, l03.optim.beta2, l03.seed) == (
        "sndcgan", "none", "none", 0.000412, 0.341, 23)
    assert l03.trainer.d_steps == 100000 and l03.meta.fid == 61.15
    hub03 = compose(["experiment=kurach2019/hub03"])
    assert hub03.loss.name == "ls" and hub03.dataset.name == "lsun_bedroom"
    v3 = compose(["experiment=kurach2019/v3cfg_resnet_cifar10"])  # 40000 G steps x n_dis 5
    assert v3.trainer.d_steps == 200000 and v3.arch.name == "resnet_cifar" and v3.norm.name == "spectral"
    tab6 = compose(["experiment=kurach2019/kurach_tab6_nsgp"])
    assert set(tab6.meta.assumed) >= {"learning_rate", "normalization", "penalty_lambda"}


def test_override_files_are_not_full_copies():
    """Experiment files hold overrides, not copies of every group: published rows compose, they do not copy."""
    text = (conf_dir() / "experiment/kurach2019/hub01.yaml").read_text()
    assert "# @package _global_" in text and "override /arch: resnet19" in text
    assert "checkpoint_every" not in text and "paths" not in text


def test_axis_groups_cover_every_registry():
    assert set(AXIS_GROUPS) == {"loss", "penalty", "norm", "arch", "dataset"}
    for group in AXIS_GROUPS:
        assert len(_registry(group)) >= 3
    assert list(itertools.islice(_registry("dataset"), 1))
