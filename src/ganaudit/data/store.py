"""The prepared store: memory-mapped uint8 shards, written atomically, read lazily.

Layout of ``<data_dir>`` (e.g. ``data/prepared/cifar10``)::

    train/shard-00000.npy   uint8 [n, R, R, 3] (HWC), n <= shard_size; memory-mapped on read
    train/shard-00000.json  {"split", "shard", "count", "sha256", "items": [[id, sha256[:16]], ...]}
    test/...                the same for the test split
    manifest.json           the split manifest (see manifest.py); written last = store complete

A shard counts as done only when its ``.json`` exists (written after the ``.npy`` got its final name)
and the sha256 of the ``.npy`` pixel data equals the one recorded there; both files are written to a
temporary name and moved with ``os.replace``, so a killed preparation never leaves a half shard that
looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npformat

from ganaudit.data.registry import DATASETS
from ganaudit.data.stages import prepare_hint
from ganaudit.utils.errors import DataError
from ganaudit.utils.io import atomic_save, atomic_write_bytes

SPLITS = ("train", "test")
MANIFEST = "manifest.json"


def pixel_sha256(images: np.ndarray) -> str:
    """sha256 hex of the C-order uint8 bytes of ``images`` (any shape)."""
    arr = np.ascontiguousarray(images, dtype=np.uint8)
    return hashlib.sha256(memoryview(arr.reshape(-1))).hexdigest()  # no copy of the pixels


def item_digests(images: np.ndarray) -> list[str]:
    """First 16 hex chars of the sha256 of each image of ``images`` [n, H, W, 3]."""
    return [pixel_sha256(img)[:16] for img in images]


def shard_stem(data_dir: Path, split: str, index: int) -> Path:
    """``<data_dir>/<split>/shard-<index:05d>`` (add ``.npy`` / ``.json``)."""
    return Path(data_dir) / split / f"shard-{index:05d}"


def dumps(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, 1-space indent, trailing newline): byte-stable."""
    return (json.dumps(obj, sort_keys=True, indent=1) + "\n").encode()


def items_sha256(items: list[list[str]]) -> str:
    """sha256 hex of the ``[id, item digest]`` list of a shard (pins ids, order and item digests)."""
    return hashlib.sha256("\n".join(f"{i}\t{d}" for i, d in items).encode()).hexdigest()


def write_shard(data_dir: Path, split: str, index: int, ids: list[str], images: np.ndarray,
                plan: str = "") -> dict:
    """Atomically write shard ``index`` of ``split``: images uint8 [n, R, R, 3]; returns its meta.

    ``plan`` fingerprints what the shard should contain (dataset, version, source indices); a
    resumed preparation reuses the shard only if it matches."""
    stem = shard_stem(data_dir, split, index)
    stem.parent.mkdir(parents=True, exist_ok=True)
    images = np.ascontiguousarray(images, dtype=np.uint8)
    atomic_save(stem.with_suffix(".npy"), lambda fh: np.save(fh, images, allow_pickle=False))
    items = [[i, d] for i, d in zip(ids, item_digests(images), strict=True)]  # one digest per id
    meta = {"split": split, "shard": index, "count": len(images), "sha256": pixel_sha256(images),
            "items_sha256": items_sha256(items), "plan": plan, "items": items}
    atomic_write_bytes(stem.with_suffix(".json"), dumps(meta))
    return meta


def load_shard(data_dir: Path, split: str, index: int) -> np.ndarray:
    """Memory-mapped uint8 [n, R, R, 3] of one shard (DataError naming the file if unreadable)."""
    path = shard_stem(data_dir, split, index).with_suffix(".npy")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read shard {path}: {exc}") from None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] != 3:
        raise DataError(f"shard {path} has dtype {arr.dtype} shape {arr.shape}; expected uint8 "
                        "[n, R, R, 3]")
    return arr


def read_meta(data_dir: Path, split: str, index: int) -> dict | None:
    """The shard's ``.json`` meta, or None if missing or unreadable."""
    try:
        return json.loads(shard_stem(data_dir, split, index).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None


def completed_meta(data_dir: Path, split: str, index: int, count: int, plan: str = "") -> dict | None:
    """The meta of shard ``index`` if complete and intact (same plan, ``count`` images, digest)."""
    stem = shard_stem(data_dir, split, index)
    try:
        meta = json.loads(stem.with_suffix(".json").read_text())
        arr = load_shard(data_dir, split, index)
    except (OSError, ValueError, DataError):
        return None
    if meta.get("plan") != plan or meta.get("count") != count or len(arr) != count:
        return None
    if pixel_sha256(arr) != meta.get("sha256"):
        return None
    return meta


def not_prepared(name: str, data_dir: Path, why: str) -> DataError:
    """The DataError raised when a store is missing or incomplete."""
    return DataError(f"dataset '{name}' is not prepared in {data_dir} ({why}); run {prepare_hint(name)}")


def npy_data_offset(path: Path) -> tuple[int, tuple[int, ...]]:
    """(byte offset of the pixel data, shape) of a uint8 ``.npy`` file, from its header."""
    with open(path, "rb") as f:
        version = npformat.read_magic(f)
        read_header = npformat.read_array_header_1_0 if version == (1, 0) else \
            npformat.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        if dtype != np.uint8 or fortran:
            raise DataError(f"shard {path} has dtype {dtype}; expected C-order uint8")
        return f.tell(), shape


class _ShardReader:
    """Reads images from one ``.npy`` shard with ``os.pread``: resident memory stays at the bytes
    actually requested (a memory map would count every touched page of a 150 GB store as RSS)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.offset, self.shape = npy_data_offset(path)
            self.fd = os.open(path, os.O_RDONLY)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read shard {path}: {exc}") from None
        self.item = int(np.prod(self.shape[1:]))

    def read(self, local: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out`` [len(local), R, R, 3] with the images at shard positions ``local``."""
        flat = out.reshape(len(local), self.item)
        for j, i in enumerate(local):
            buf = os.pread(self.fd, self.item, self.offset + int(i) * self.item)
            if len(buf) != self.item:
                raise DataError(f"shard {self.path} is truncated at image {int(i)}")
            flat[j] = np.frombuffer(buf, np.uint8)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class SplitView:
    """Read-only view of one split of a prepared store; nothing is loaded until read.

    len(view) images; view[i] -> uint8 Tensor [3, R, R]; view.read_batch(start, stop) -> uint8
    ndarray [stop-start, R, R, 3]; view.read_rows(indices) -> uint8 ndarray [len(indices), R, R, 3];
    view.manifest_digest -> sha256 hex of the split manifest bytes. Safe to pickle into DataLoader
    workers (open files are reopened per process); at most ``max_open`` shard files stay open.
    """

    data_dir: Path
    split: str
    shard_counts: list[int]
    manifest_digest: str
    manifest: dict = field(repr=False)
    max_open: int = 64
    verify: bool = True
    _readers: dict[int, _ShardReader] = field(default_factory=dict, repr=False)
    _verified: set[int] = field(default_factory=set, repr=False)  # pickled: workers trust the parent's checks

    def __post_init__(self) -> None:
        self._starts = np.concatenate([[0], np.cumsum(self.shard_counts)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def resolution(self) -> int:
        return int(self.manifest["resolution"])

    def _reader(self, k: int) -> _ShardReader:
        if k not in self._readers:
            if len(self._readers) >= self.max_open:
                self._readers.pop(next(iter(self._readers))).close()
            path = shard_stem(self.data_dir, self.split, k).with_suffix(".npy")
            self._readers[k] = _ShardReader(path)
            if self.verify and k not in self._verified:
                self._check_digest(k, self._readers[k])
        return self._readers[k]

    def _check_digest(self, k: int, reader: _ShardReader) -> None:
        """DataError unless shard ``k``'s pixel bytes hash to the sha256 the manifest pins (read once
        per process and shard, in 8 MiB blocks; cost: benchmarks/RESULTS.md, "Shard digests")."""
        want = self.manifest["splits"][self.split]["shards"][k]["sha256"]
        digest, pos = hashlib.sha256(), reader.offset
        while block := os.pread(reader.fd, 8 << 20, pos):
            digest.update(block)
            pos += len(block)
        if digest.hexdigest() != want:
            name = self.manifest.get("dataset", "?")
            raise DataError(f"shard {reader.path} has sha256 {digest.hexdigest()[:16]}..; {self.data_dir / MANIFEST} "
                            f"pins {want[:16]}..: the prepared data changed after preparation. See "
                            f"`python -m ganaudit.data verify {name}`; re-prepare with {prepare_hint(name)}")
        self._verified.add(k)

    def __getstate__(self) -> dict:  # file descriptors are reopened in each worker process
        state = dict(self.__dict__)
        state["_readers"] = {}
        return state

    def __del__(self) -> None:
        for r in getattr(self, "_readers", {}).values():
            r.close()

    def read_rows(self, indices: np.ndarray) -> np.ndarray:
        """uint8 [len(indices), R, R, 3] for arbitrary split positions, in the given order."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"index out of range for {self.split} split of size {len(self)}")
        shard = np.searchsorted(self._starts, idx, side="right") - 1
        r = self.resolution
        out = np.empty((len(idx), r, r, 3), dtype=np.uint8)
        for k in np.unique(shard):
            sel = np.nonzero(shard == k)[0]
            block = np.empty((len(sel), r, r, 3), np.uint8)
            self._reader(int(k)).read(idx[sel] - self._starts[k], block)
            out[sel] = block
        return out

    def read_batch(self, start: int, stop: int) -> np.ndarray:
        """uint8 [stop-start, R, R, 3], images ``start..stop-1`` in split order."""
        stop = min(stop, len(self))
        return self.read_rows(np.arange(start, stop)) if stop > start else \
            np.empty((0, self.resolution, self.resolution, 3), np.uint8)

    def __getitem__(self, i: int) -> "torch.Tensor":  # noqa: F821
        """uint8 Tensor [3, R, R] (CHW) of image ``i``."""
        # deferred: preparation workers read shards without torch
        import torch

        if i < 0:
            i += len(self)
        return torch.from_numpy(self.read_rows(np.array([i]))[0].transpose(2, 0, 1).copy())


def read_manifest(data_dir: Path) -> tuple[dict, str]:
    """(manifest dict, sha256 hex of its bytes) from ``<data_dir>/manifest.json``."""
    path = Path(data_dir) / MANIFEST
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
        manifest["splits"]["train"]["shards"]
    except (ValueError, KeyError, TypeError) as exc:
        name = Path(data_dir).name
        raise DataError(f"manifest {path} is corrupt ({type(exc).__name__}: {exc}); expected the JSON written by "
                        f"preparation: re-prepare with {prepare_hint(name)}") from None
    return manifest, hashlib.sha256(raw).hexdigest()


def open_split(name: str, split: str, data_dir: str | Path) -> SplitView:
    """Open ``split`` ("train" or "test") of the prepared store of dataset ``name`` in ``data_dir``."""
    DATASETS.get(name)  # ConfigError for unknown names
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}' for dataset '{name}'; expected one of {SPLITS}")
    data_dir = Path(data_dir)
    if not (data_dir / MANIFEST).is_file():
        raise not_prepared(name, data_dir, f"no {MANIFEST}")
    manifest, digest = read_manifest(data_dir)
    if manifest.get("dataset") != name:
        raise DataError(f"{data_dir / MANIFEST} is for dataset '{manifest.get('dataset')}'; "
                        f"expected '{name}'")
    return open_view(data_dir, split)


def open_view(data_dir: str | Path, split: str) -> SplitView:
    """A :class:`SplitView` of any complete store (no dataset-name check; benchmarks, tools)."""
    data_dir = Path(data_dir)
    manifest, digest = read_manifest(data_dir)
    counts = [s["count"] for s in manifest["splits"][split]["shards"]]
    return SplitView(data_dir=data_dir, split=split, shard_counts=counts, manifest_digest=digest,
                     manifest=manifest)
