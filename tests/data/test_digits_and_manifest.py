"""digits rendering, split, determinism, and agreement with the committed manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganaudit.data import open_split
from ganaudit.data.digits import render_digits
from ganaudit.data.prepare import prepare
from ganaudit.data.store import dumps

REPO = Path(__file__).resolve().parents[2]


def test_render_hand_values():
    raw = np.zeros((1, 8, 8))
    raw[0, 0, 0], raw[0, 0, 1], raw[0, 7, 7], raw[0, 3, 4] = 16, 8, 1, 4
    out = render_digits(raw)
    assert out.shape == (1, 32, 32, 3) and out.dtype == np.uint8
    assert (out[0, 0:4, 0:4] == 255).all()  # 16 -> 255, a 4x4 block
    assert (out[0, 0:4, 4:8] == 128).all()  # 8 -> round(127.5) = 128
    assert (out[0, 28:32, 28:32] == 16).all()  # 1 -> round(15.94) = 16
    assert (out[0, 12:16, 16:20] == 64).all()  # 4 -> round(63.75) = 64
    assert (out[0, 4:8] == 0).all()
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_split_sizes_disjoint_covering_and_seeded(digits_store):
    data_dir, _, m = digits_store
    train, test = open_split("digits", "train", data_dir), open_split("digits", "test", data_dir)
    assert (len(train), len(test)) == (1297, 500)
    train_ids = [i for k in range(len(train.shard_counts))
                 for i, _ in json.loads((data_dir / "train" / f"shard-{k:05d}.json").read_text())["items"]]
    ids = set(train_ids) | set(m["test_ids"])
    assert not set(train_ids) & set(m["test_ids"]) and len(ids) == 1797
    assert ids == {f"digits/{i:04d}" for i in range(1797)}
    expected = np.sort(np.random.default_rng(0).permutation(1797)[:500])  # reference: seeded perm
    assert m["test_ids"] == [f"digits/{i:04d}" for i in expected]
    # pixels: test item j is the rendered sklearn digit expected[j]
    from sklearn.datasets import load_digits

    ref = render_digits(load_digits().images)
    np.testing.assert_array_equal(test.read_batch(0, 500), ref[expected])
    assert test[3].shape == (3, 32, 32) and (test[3].numpy() == ref[expected[3]].transpose(2, 0, 1)).all()


def test_prepare_twice_is_byte_identical_and_another_seed_differs(tmp_path, digits_store):
    data_dir, _, m = digits_store
    m2 = prepare("digits", None, tmp_path / "again", splits_dir=tmp_path / "s", shard_size=128,
                 progress=False)
    assert dumps(m2) == dumps(m)
    for f in sorted(data_dir.rglob("*")):
        if f.is_file():
            assert (tmp_path / "again" / f.relative_to(data_dir)).read_bytes() == f.read_bytes(), f
    m3 = prepare("digits", None, tmp_path / "seed1", seed=1, splits_dir=tmp_path / "s1",
                 shard_size=128, progress=False)
    assert m3["test_ids"] != m["test_ids"] and len(m3["test_ids"]) == 500
    assert m3["splits"]["test"]["sha256"] != m["splits"]["test"]["sha256"]


@pytest.mark.timeout(120)
def test_pinned_prepare_reproduces_the_committed_manifest(tmp_path):
    """The committed splits/digits.json is what this code produces (the offline default is pinned)."""
    prepare("digits", None, tmp_path / "store", splits_dir=REPO / "splits", progress=False)
    assert (tmp_path / "store" / "manifest.json").read_bytes() == (REPO / "splits" / "digits.json").read_bytes()
