"""Atomic writes: the new content or the old one, never a partial file or a stray temporary."""

import json

import numpy as np
import pytest
import torch

from ganaudit.utils.io import (
    atomic_path,
    atomic_save,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)


def _siblings(path):
    return sorted(p.name for p in path.parent.iterdir())


def test_writes_text_bytes_json_and_creates_the_folder(tmp_path):
    atomic_write_text(tmp_path / "a" / "t.txt", "héllo\n")
    atomic_write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    atomic_write_json(tmp_path / "a" / "j.json", {"b": 1, "a": float("nan")})
    assert (tmp_path / "a" / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    text = (tmp_path / "a" / "j.json").read_text()
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')  # sorted keys
    assert json.loads(text)["b"] == 1
    assert _siblings(tmp_path / "a" / "t.txt") == ["b.bin", "j.json", "t.txt"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "w.pt"
    atomic_write_bytes(path, b"old")

    def writer(fh):
        fh.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_save(path, writer)
    assert path.read_bytes() == b"old"
    assert _siblings(path) == ["w.pt"]


def test_an_unserializable_json_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "x.json", {"a": object()}, default=None)
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_removes_the_temporary_on_failure(tmp_path):
    target = tmp_path / "dl.tar.gz"
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial download")
            assert tmp.parent == target.parent and tmp.name != target.name
            raise OSError("connection reset")
    assert list(tmp_path.iterdir()) == []


def test_torch_and_numpy_writers_round_trip(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    atomic_save(tmp_path / "s.pt", lambda fh: torch.save(state, fh))
    assert torch.equal(torch.load(tmp_path / "s.pt", weights_only=True)["w"], state["w"])
    arr = np.arange(10, dtype=np.uint8)
    atomic_save(tmp_path / "a.npy", lambda fh: np.save(fh, arr, allow_pickle=False))
    assert np.array_equal(np.load(tmp_path / "a.npy"), arr)
    assert _siblings(tmp_path / "a.npy") == ["a.npy", "s.pt"]
