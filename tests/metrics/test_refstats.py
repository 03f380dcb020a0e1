"""Reference statistics cache: keyed by every input, atomic, re-checked on load, no re-encoding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ganaudit.metrics import fid, protocol_for
from ganaudit.metrics.fid import feature_stats
from ganaudit.metrics.refstats import cache_path, get_or_compute, key_fields, load
from ganaudit.utils.errors import DataError

from .conftest import FakeView


class CountingExtractor(torch.nn.Module):
    """Mean colour per channel + 1 as features [B, 4], a fixed projection as logits; counts images."""

    name, weights_sha256, num_features, num_logits = "counting", "c" * 64, 4, 3

    def __init__(self) -> None:
        super().__init__()
        self.images = 0

    def forward(self, x):
        self.images += len(x)
        m = x.mean(dim=(2, 3))
        feats = torch.cat([m, m[:, :1] ** 0.5], 1)
        return feats, m


@pytest.fixture
def view():
    return FakeView(np.random.default_rng(0).integers(0, 256, (600, 8, 8, 3), dtype=np.uint8))


def test_stats_equal_direct_computation_and_repeat_encodes_nothing(tmp_path, view):
    proto = protocol_for("digits", "digits_cnn")
    ext = CountingExtractor()
    first = get_or_compute(proto, "digits", view, ext, tmp_path)
    assert ext.images == 500  # the FIRST 500 images of the split, once
    feats, _ = CountingExtractor()(torch.from_numpy(view.images[:500]).permute(0, 3, 1, 2).float())
    mu, sigma = feature_stats(feats.double().numpy())
    np.testing.assert_allclose(first.mu, mu, rtol=1e-12)
    np.testing.assert_allclose(first.sigma, sigma, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(first.features, feats.numpy())
    second = get_or_compute(proto, "digits", view, ext, tmp_path)
    assert ext.images == 500  # nothing re-encoded
    np.testing.assert_array_equal(second.sigma, first.sigma)
    assert not list(tmp_path.rglob("*.tmp"))  # written atomically, no leftovers
    assert fid(first.features, second.features) < 1e-9


@pytest.mark.parametrize("change", ["manifest", "weights", "n", "protocol", "kernels"])
def test_key_changes_with_every_input(tmp_path, change):
    proto = protocol_for("digits", "digits_cnn")
    base = key_fields(proto, "digits", "m" * 64, "w" * 64, 500, "portable-cpu")
    other = {
        "manifest": key_fields(proto, "digits", "x" * 64, "w" * 64, 500, "portable-cpu"),
        "weights": key_fields(proto, "digits", "m" * 64, "x" * 64, 500, "portable-cpu"),
        "n": key_fields(proto, "digits", "m" * 64, "w" * 64, 499, "portable-cpu"),
        "protocol": key_fields(dataclasses.replace(proto, name="other"), "digits", "m" * 64, "w" * 64, 500,
                               "portable-cpu"),
        "kernels": key_fields(proto, "digits", "m" * 64, "w" * 64, 500, "fast-cpu"),
    }[change]
    assert cache_path(tmp_path, base) != cache_path(tmp_path, other)


def test_manifest_mismatch_is_refused(tmp_path, view):
    proto = protocol_for("digits", "digits_cnn")
    stats = get_or_compute(proto, "digits", view, CountingExtractor(), tmp_path)
    path = cache_path(tmp_path, stats.meta)
    wanted = {**stats.meta, "split_manifest_digest": "0" * 64}
    with pytest.raises(DataError, match="split_manifest_digest") as err:
        load(path, wanted)
    assert "refstats@digits" in str(err.value)


def test_too_small_split_is_refused(tmp_path):
    small = FakeView(np.zeros((10, 8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="needs its first 500"):
        get_or_compute(protocol_for("digits", "digits_cnn"), "digits", small, CountingExtractor(), tmp_path)


def test_statistics_of_other_kernels_are_not_reused(tmp_path, view):
    """Portable and fast kernels give statistics under different keys: a portable evaluation never
    scores against numbers that this CPU's own kernels computed (and the reverse)."""
    from ganaudit.utils.determinism import enforce, kernels_in_force

    proto = protocol_for("digits", "digits_cnn")
    enforce("portable")  # the suite's environment is portable (tests/conftest.py); the switches too
    assert kernels_in_force() == "portable-cpu" and kernels_in_force("cuda:0") == "portable-cuda"
    ext = CountingExtractor()
    portable = get_or_compute(proto, "digits", view, ext, tmp_path)
    assert portable.meta["kernels"] == "portable-cpu" and ext.images == 500
    torch.backends.mkldnn.enabled = True  # one runtime switch off the portable setting: other kernels
    try:
        assert kernels_in_force() == "fast-cpu"
        fast = get_or_compute(proto, "digits", view, ext, tmp_path)
    finally:
        torch.backends.mkldnn.enabled = False
    assert fast.meta["kernels"] == "fast-cpu" and ext.images == 1000  # computed again, not reused
    assert cache_path(tmp_path, fast.meta) != cache_path(tmp_path, portable.meta)
    assert len(list((tmp_path / "refstats" / "digits").glob("*.npz"))) == 2
    assert get_or_compute(proto, "digits", view, ext, tmp_path).meta["kernels"] == "portable-cpu"
    assert ext.images == 1000  # back in portable: the portable file again, nothing computed
