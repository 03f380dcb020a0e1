"""ganaudit.cli.describe: parameter counts (hand-derived from spec §4.1), output shapes, no data needed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ganaudit.cli.describe import main
from ganaudit.training.config import compose
from ganaudit.training.describe import describe


def _conv(cin, cout, k):  # weight + bias
    return cin * cout * k * k + cout


def test_sndcgan32_parameter_counts_match_the_layer_table():
    d = describe(compose(["dataset=cifar10", "arch=sndcgan", "norm=spectral"]))
    # G (spec §4.1): linear 128->4*4*512, BN1d(8192) affine, 3 deconvs 4x4 with BN, deconv 3x3 -> 3
    g = (128 * 8192 + 8192) + 2 * 8192
    g += _conv(512, 256, 4) + 2 * 256 + _conv(256, 128, 4) + 2 * 128 + _conv(128, 64, 4) + 2 * 64
    g += _conv(64, 3, 3)
    # D: 7 convs (3x3 / 4x4 alternating) + linear(4*4*512 -> 1); SN adds buffers, not parameters
    dd = _conv(3, 64, 3) + _conv(64, 128, 4) + _conv(128, 128, 3) + _conv(128, 256, 4)
    dd += _conv(256, 256, 3) + _conv(256, 512, 4) + _conv(512, 512, 3) + (4 * 4 * 512 + 1)
    assert (d["generator_parameters"], d["discriminator_parameters"]) == (g, dd) == (3828739, 5860865)
    assert d["generator_output_shape"] == [2, 3, 32, 32] and d["discriminator_output_shape"] == [2]
    lo, hi = d["generator_output_range"]
    assert 0.0 <= lo <= hi <= 1.0


def _sndcgan_counts(res: int, width: float) -> tuple[int, int]:
    """SNDCGAN's layer table (spec §4.1) at any resolution: G starts from (res/8)^2 x 512w features."""
    c = [int(n * width) for n in (64, 128, 256, 512)]
    side = res // 8
    g = (128 * side * side * c[3] + side * side * c[3]) + 2 * side * side * c[3]
    g += _conv(c[3], c[2], 4) + 2 * c[2] + _conv(c[2], c[1], 4) + 2 * c[1] + _conv(c[1], c[0], 4) + 2 * c[0]
    g += _conv(c[0], 3, 3)
    dd = _conv(3, c[0], 3) + _conv(c[0], c[1], 4) + _conv(c[1], c[1], 3) + _conv(c[1], c[2], 4)
    dd += _conv(c[2], c[2], 3) + _conv(c[2], c[3], 4) + _conv(c[3], c[3], 3) + (side * side * c[3] + 1)
    return g, dd


def test_the_layer_table_helper_agrees_with_the_hand_count():
    assert _sndcgan_counts(32, 1.0) == (3828739, 5860865)


# sndcgan: from the layer table; the ResNets: pinned, so a change of their layer tables shows here
@pytest.mark.parametrize("dataset,arch,res,counts", [
    ("cifar10", "resnet_cifar", 32, (467075, 94305)),
    ("celeba_hq_128", "resnet19", 128, (1061891, 944625)),
    ("lsun_bedroom", "sndcgan", 128, _sndcgan_counts(128, 0.25)),
])
def test_dataset_implies_resolution_without_data(tmp_path, dataset, arch, res, counts):
    d = describe(compose([f"dataset={dataset}", f"arch={arch}", "norm=none", f"paths.root={tmp_path}",
                          "arch.width=0.25"]))
    assert d["config"]["arch"]["resolution"] == res == d["generator_output_shape"][-1]
    assert (d["generator_parameters"], d["discriminator_parameters"]) == counts


def test_width_scales_parameters_and_norm_adds_only_affine():
    full = describe(compose(["dataset=celeba_hq_128", "arch=resnet19", "norm=none"]))
    layer = describe(compose(["dataset=celeba_hq_128", "arch=resnet19", "norm=layer"]))
    # LN in D: per-channel gamma+beta before both convs of each of the 6 blocks (spec §3.3-3.4)
    ch_in = [3, 64, 128, 256, 256, 512]
    ch_out = [64, 128, 256, 256, 512, 512]
    assert layer["discriminator_parameters"] - full["discriminator_parameters"] == sum(
        2 * ci + 2 * co for ci, co in zip(ch_in, ch_out, strict=True))
    assert layer["generator_parameters"] == full["generator_parameters"]


def test_cli_prints_one_json_object_and_fails_cleanly(capsys):
    assert main(["dataset=cifar10", "arch.width=0.125"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["dataset"]["name"] == "cifar10"
    assert main(["arch=sndcgan", "norm=batch"]) == 2
    assert "option 'norm'" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_python_dash_m_describe(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ganaudit.describe", "dataset=lsun_bedroom", "arch=resnet19",
                           "arch.width=0.125", "norm=spectral"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["generator_output_shape"] == [2, 3, 128, 128]
