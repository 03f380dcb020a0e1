"""A checkpoint whose identity was edited after training is refused on every read: evaluation (and the
verdict, which loads generators the same way) and resuming."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganaudit.data.datamodule import GANDataModule
from ganaudit.metrics.checkpoints import load_generator
from ganaudit.training.config import compose, config_hash
from ganaudit.training.lit.resume import resume_checkpoint
from ganaudit.training.train import train
from ganaudit.utils.errors import CheckpointError, ConfigError
from tests.training.conftest import tiny_images, tiny_overrides

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("forged")
    cfg = compose(tiny_overrides(root, d_steps=2))
    result = train(cfg, datamodule=GANDataModule.from_arrays(tiny_images(), batch_size=4, seed=0))
    assert result["status"] == "ok", result.get("reason")
    return Path(result["run_dir"]), {"hash": config_hash(cfg)}


def _forge(src: Path, dst: Path, edit) -> Path:
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    edit(ckpt)
    torch.save(ckpt, dst)
    return dst


def test_an_intact_checkpoint_loads_with_its_identity(run):
    run_dir, ident = run
    _, info = load_generator(run_dir / "checkpoints" / "last.ckpt")
    assert info["config_hash"] == ident["hash"] and info["format"] == "lightning"


@pytest.mark.parametrize("name,edit,match", [
    ("hash", lambda c: c["ganaudit"].__setitem__("config_hash", "f" * 16), "stored config hash f{16} is not"),
    ("config", lambda c: c["ganaudit"]["config"]["loss"].__setitem__("name", "wgan"), "edited after training"),
    ("hparams", lambda c: c["hyper_parameters"].__setitem__("width", 0.5), "hyperparameter width = 0.5"),
])
def test_an_edited_checkpoint_is_refused_when_evaluated(run, tmp_path, name, edit, match):
    run_dir, _ = run
    forged = _forge(run_dir / "checkpoints" / "last.ckpt", tmp_path / f"{name}.ckpt", edit)
    with pytest.raises(CheckpointError, match=match):
        load_generator(forged)


def test_an_edited_checkpoint_is_refused_when_resuming(run, tmp_path):
    run_dir, ident = run
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    _forge(run_dir / "checkpoints" / "last.ckpt", ckpts / "last.ckpt",
           lambda c: c["ganaudit"]["config"]["optim"].__setitem__("lr", 0.5))
    with pytest.raises(CheckpointError, match="edited after training"):
        resume_checkpoint(ckpts, ident["hash"], 0)


def test_a_config_beside_a_checkpoint_may_differ_in_paths_but_not_in_training(run, tmp_path):
    run_dir, ident = run
    own = (run_dir / "config.yaml").read_text()
    moved = tmp_path / "moved.yaml"
    moved.write_text(own.replace(str(run_dir.parent.parent), "/elsewhere"))
    assert moved.read_text() != own
    _, info = load_generator(run_dir / "checkpoints" / "last.ckpt", config=moved)
    assert info["config_hash"] == ident["hash"]
    other = tmp_path / "other.yaml"
    other.write_text(own.replace("name: ns", "name: hinge", 1))
    assert other.read_text() != own
    with pytest.raises(ConfigError, match="differs at loss.name"):
        load_generator(run_dir / "checkpoints" / "last.ckpt", config=other)
