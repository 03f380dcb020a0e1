"""Checks made before a run starts (ganaudit.training.checks): the parameter count behind the memory
refusal, the device refusal, and when a failed run is told that a rerun resumes it."""

from __future__ import annotations

import pytest
import torch

from ganaudit.axes.archs import ARCHS
from ganaudit.training import checks
from ganaudit.training.config import compose
from ganaudit.utils.errors import ConfigError


@pytest.mark.parametrize("arch,dataset,norm", [("sndcgan", "digits", "spectral"), ("resnet_cifar", "cifar10", "batch"),
                                               ("resnet19", "celeba_hq_128", "layer")])
def test_meta_parameter_count_equals_the_built_models(arch, dataset, norm):
    cfg = compose([f"arch={arch}", f"dataset={dataset}", f"norm={norm}", "arch.width=0.125"])
    g, d = ARCHS.get(arch).build(int(cfg.arch.resolution), norm, 0.125, 128, "v2")
    built = sum(p.numel() for m in (g, d) for p in m.parameters())
    assert checks.model_parameters(cfg) == built


def test_parameters_grow_with_width_squared():
    # conv weights are c_in * c_out * k * k with both channel counts proportional to the width: doubling
    # the width multiplies the count by under 4 (biases and the z -> linear layer grow linearly)
    small = checks.model_parameters(compose(["arch.width=1"]))
    large = checks.model_parameters(compose(["arch.width=2"]))
    assert 3.7 < large / small < 4.0  # 3.775: the z -> linear layer (128 x 8192 w) is a large linear part


def test_hand_counted_memory_bound(monkeypatch):
    cfg = compose(["arch.width=1"])
    params = checks.model_parameters(cfg)
    assert params == 9_689_604  # SNDCGAN at 32 px with spectral norm, as `ganaudit describe` reports
    need = params * 16          # weights, gradients, two Adam moments: 4 float32 each
    monkeypatch.setattr(checks, "available_memory", lambda acc: (need, "available RAM"))
    checks.check_size(cfg, "cpu")  # exactly fits
    monkeypatch.setattr(checks, "available_memory", lambda acc: (need - 1, "available RAM"))
    with pytest.raises(ConfigError, match=r"9,689,604 parameters, 0\.1 GiB .* the available RAM is 0\.1 GiB"):
        checks.check_size(cfg, "cpu")


def test_overflowing_width_is_refused_without_allocating():
    with pytest.raises(ConfigError, match=r"arch.width=1000000000.0 .* more than 2\*\*63"):
        checks.check_size(compose(["arch.width=1e9"]), "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="refused only where torch has no CUDA device")
@pytest.mark.parametrize("value", ["gpu", "cuda", "cuda:0"])
def test_cuda_without_cuda_is_refused(value):
    with pytest.raises(ConfigError, match=f"option 'device' = '{value}': this machine has no CUDA device"):
        checks.check_device(value, "device", torch_device=value != "gpu")


@pytest.mark.parametrize("value,torch_device", [("gpu", True), ("tpu", False), ("cuda:x", True), ("auto", True)])
def test_unknown_device_names_are_refused(value, torch_device):
    with pytest.raises(ConfigError, match="expected cpu"):
        checks.check_device(value, "device", torch_device=torch_device)


def test_cpu_and_auto_pass():
    checks.check_device("cpu")
    checks.check_device("auto")
    checks.check_device("cpu", torch_device=True)


def _result(tmp_path, reason, ckpt=True):
    if ckpt:
        (tmp_path / "checkpoints").mkdir()
        (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"x")
    return {"status": "failed", "reason": reason, "run_dir": str(tmp_path)}


@pytest.mark.parametrize("reason,ckpt,rerun", [
    ("interrupted by SIGTERM", True, True),
    ("OutOfMemoryError: CUDA out of memory", True, True),
    ("OSError: [Errno 28] No space left on device", True, True),
    ("stopped at D step 5 of 20 (trainer.stop_at=5); rerun the same command to resume", True, True),
    ("interrupted by SIGTERM", False, False),                 # no checkpoint: nothing to resume
    ("InstantiationException: No supported gpu backend found!", True, False),
    ("DataError: shard has sha256 ...", True, False),
    ("ValueError: bad config", True, False),
])
def test_rerun_hint_only_when_a_rerun_can_help(tmp_path, capsys, reason, ckpt, rerun):
    assert checks.run_exit_code(_result(tmp_path, reason, ckpt)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: run ")
    assert ("rerun the same command to resume from its last checkpoint" in err) is rerun
    assert ("will not help until the cause above is fixed" in err) is not rerun
    assert err.count("rerun the same command") <= 1
