"""Prepared data is checked when it is read, not only by `verify`: each shard's sha256 against the
manifest on first read (per process), a corrupt manifest and a missing shard as one-line DataErrors."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest

from ganaudit.data import open_split
from ganaudit.data.store import shard_stem
from ganaudit.utils.errors import DataError


@pytest.fixture
def store(digits_store, tmp_path):
    data_dir = tmp_path / "store"
    shutil.copytree(digits_store[0], data_dir)
    return data_dir


def _flip_one_pixel(data_dir, split="train", shard=1):
    path = shard_stem(data_dir, split, shard).with_suffix(".npy")
    arr = np.load(path, mmap_mode="r+")
    arr[3, 4, 5, 0] ^= 1  # one bit of one pixel, shape and dtype unchanged
    arr.flush()
    return path


def test_untouched_store_reads_and_checks_each_shard_once(store):
    view = open_split("digits", "train", store)
    first = view.read_batch(0, 300)                      # shards 0..2
    assert view._verified == {0, 1, 2}
    assert np.array_equal(view.read_batch(0, 300), first)
    clone = pickle.loads(pickle.dumps(view))             # a DataLoader worker trusts the parent's checks
    assert clone._verified == {0, 1, 2} and clone._readers == {}


def test_tampered_shard_is_refused_on_first_read(store, digits_store):
    path = _flip_one_pixel(store)
    view = open_split("digits", "train", store)
    assert view.read_batch(0, 128).shape == (128, 32, 32, 3)      # shard 0 untouched: readable
    with pytest.raises(DataError) as err:
        view.read_rows(np.array([130]))                           # any image of shard 1
    msg = str(err.value)
    assert f"shard {path} has sha256" in msg and "changed after preparation" in msg
    assert "python -m ganaudit.data verify digits" in msg and "\n" not in msg
    unchecked = open_split("digits", "train", store)
    unchecked.verify = False                                      # the opt-out reads the changed bytes
    original = open_split("digits", "train", digits_store[0]).read_rows(np.array([131]))[0, 4, 5, 0]
    assert unchecked.read_rows(np.array([131]))[0, 4, 5, 0] == original ^ 1


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no_splits"])
def test_corrupt_manifest_is_a_one_line_data_error(store, damage):
    manifest = store / "manifest.json"
    text = manifest.read_text()
    manifest.write_text({"truncate": text[: len(text) // 2], "garbage": "\x00\x01 not json",
                         "no_splits": '{"dataset": "digits"}'}[damage])
    with pytest.raises(DataError, match=r"manifest .*manifest.json is corrupt .*re-prepare with "):
        open_split("digits", "train", store)


def test_missing_shard_is_named(store):
    path = shard_stem(store, "train", 2).with_suffix(".npy")
    path.unlink()
    view = open_split("digits", "train", store)
    with pytest.raises(DataError, match=f"cannot read shard {path}"):
        view.read_batch(250, 260)
