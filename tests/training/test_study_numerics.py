"""One data order for every seed (data_seed, [V2] DEFAULT_DATASET_SEED = 547) and the GPU precision
modes (trainer.precision): config, hashing, the data module the training builds, and the torch flags."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from ganaudit.data.datamodule import batch_indices
from ganaudit.training.config import compose, config_hash, run_dir, validate
from ganaudit.training.precision import check_precision, precision_settings, training_precision
from ganaudit.utils.errors import ConfigError


def _datamodule(cfg):
    """The data module a training run of ``cfg`` builds (conf/lightning/default.yaml)."""
    return instantiate(cfg.lightning.datamodule)


def test_data_seed_defaults_to_the_study_and_alone_drives_the_data_stream():
    a, b = compose(["seed=0"]), compose(["seed=3"])
    assert a.data_seed == 547 and b.data_seed == 547
    dm_a, dm_b = _datamodule(a), _datamodule(b)
    assert dm_a.seed == dm_b.seed == 547  # the seed no longer changes the data order
    # the stream is a pure function of data_seed: batch k is the same for both runs, and not seed-driven
    assert all((batch_indices(k, 1000, 64, dm_a.seed) == batch_indices(k, 1000, 64, dm_b.seed)).all()
               for k in range(20))
    assert not (batch_indices(0, 1000, 64, 547) == batch_indices(0, 1000, 64, 0)).all()
    assert _datamodule(compose(["seed=0", "data_seed=11"])).seed == 11


def test_data_seed_equal_to_seed_restores_one_order_per_seed():
    cfg = compose(["seed=5", "data_seed=${seed}"])
    validate(cfg)
    assert _datamodule(cfg).seed == 5


def test_data_seed_is_hashed_and_seed_is_not():
    base = compose(["seed=0"])
    assert config_hash(compose(["seed=9"])) == config_hash(base)
    assert config_hash(compose(["seed=0", "data_seed=1"])) != config_hash(base)
    assert run_dir(compose(["seed=9"])).name.endswith("-s9")
    with pytest.raises(ConfigError, match="'data_seed'"):
        validate(compose(["data_seed=-1"]))


def test_precision_default_is_exact_float32_and_tf32_is_opt_in():
    assert compose([]).trainer.precision == "32-true"
    assert config_hash(compose(["trainer.precision=tf32"])) != config_hash(compose([]))
    validate(compose(["trainer.precision=tf32"]))
    # Lightning itself always runs 32-true; tf32 only changes the CUDA flags set around fit
    assert compose(["trainer.precision=tf32"]).lightning.trainer.precision == "32-true"
    assert compose([]).lightning.trainer.precision == "32-true"
    with pytest.raises(ConfigError, match="bf16-mixed is not supported.*'32-true'.*'tf32'"):
        validate(compose(["trainer.precision=bf16-mixed"]))
    with pytest.raises(ConfigError, match="'16-mixed'.*'32-true'"):
        check_precision("16-mixed")


@pytest.mark.parametrize("value, tf32, matmul", [("32-true", False, "highest"), ("tf32", True, "high")])
def test_training_precision_sets_and_restores_the_torch_flags(value, tf32, matmul):
    before = precision_settings()
    torch.backends.cudnn.allow_tf32 = not tf32  # start from the opposite, so the context must set it
    torch.backends.cuda.matmul.allow_tf32 = not tf32
    opposite = precision_settings()
    try:
        with training_precision(value) as rec:
            assert torch.backends.cuda.matmul.allow_tf32 is tf32 and torch.backends.cudnn.allow_tf32 is tf32
            assert torch.get_float32_matmul_precision() == matmul
            assert rec == {"precision": value, "cuda_matmul_allow_tf32": tf32, "cudnn_allow_tf32": tf32,
                           "float32_matmul_precision": matmul}
        assert precision_settings() == opposite
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before["cuda_matmul_allow_tf32"]
        torch.backends.cudnn.allow_tf32 = before["cudnn_allow_tf32"]
        torch.set_float32_matmul_precision(before["float32_matmul_precision"])
