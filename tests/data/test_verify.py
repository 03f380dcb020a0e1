"""`verify` passes on an untouched store and names the first differing item otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ganaudit.cli.data import main, verify


@pytest.fixture
def store(tmp_path, digits_store) -> tuple[Path, Path]:
    data_dir, splits_dir, _ = digits_store
    shutil.copytree(data_dir, tmp_path / "store")
    return tmp_path / "store", splits_dir


def _rewrite(path: Path, arr: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)


def test_untouched_store_verifies(store, capsys):
    data_dir, splits = store
    assert verify("digits", data_dir, splits) == []
    assert main(["verify", "digits", "--out", str(data_dir), "--splits", str(splits)]) == 0
    assert "ok" in capsys.readouterr().out


def test_one_changed_pixel_is_named(store, capsys):
    data_dir, splits = store
    shard = data_dir / "train" / "shard-00002.npy"
    arr = np.load(shard).copy()
    arr[5, 10, 11, 1] ^= 1  # one channel of one pixel of item 2*128+5
    _rewrite(shard, arr)
    problems = verify("digits", data_dir, splits)
    assert len(problems) == 1 and "train item 261 'digits/" in problems[0]
    assert "changed pixels" in problems[0] and "shard-00002.npy" in problems[0]
    assert main(["verify", "digits", "--out", str(data_dir), "--splits", str(splits)]) == 1
    assert "train item 261" in capsys.readouterr().err


def test_missing_image_is_named(store):
    data_dir, splits = store
    shard = data_dir / "test" / "shard-00001.npy"
    arr = np.load(shard)
    _rewrite(shard, np.delete(arr, 7, axis=0))  # image 128+7 of the test split vanishes
    (problem,) = verify("digits", data_dir, splits)
    assert "missing image: test item 135 'digits/" in problem


def test_missing_shard_file_is_named(store):
    data_dir, splits = store
    (data_dir / "test" / "shard-00003.npy").unlink()
    (problem,) = verify("digits", data_dir, splits)
    assert "test item 384" in problem and "missing shard file" in problem


def test_reordered_shards_are_named(store):
    data_dir, splits = store
    a, b = data_dir / "train" / "shard-00001.npy", data_dir / "train" / "shard-00004.npy"
    tmp = a.with_suffix(".swap")
    a.rename(tmp), b.rename(a), tmp.rename(b)
    (problem,) = verify("digits", data_dir, splits)
    assert "train item 128" in problem and "content of train shard 4" in problem
    assert "reordered" in problem


def test_extra_shard_and_unprepared_store(store, tmp_path):
    data_dir, splits = store
    shutil.copy(data_dir / "test" / "shard-00000.npy", data_dir / "test" / "shard-00004.npy")
    (problem,) = verify("digits", data_dir, splits)
    assert "unexpected extra shard" in problem and "shard-00004.npy" in problem
    from ganaudit.utils.errors import DataError

    with pytest.raises(DataError, match=r"dvc repro prepare@digits"):
        verify("digits", tmp_path / "nothing", splits)
