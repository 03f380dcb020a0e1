"""``lsun_bedroom``: the official LSUN bedroom LMDB (spec §7), central 128×128 crop, 30,588 test.

Raw input: ``data/raw/lsun_bedroom/bedroom_train_lmdb/`` (``data.mdb`` + ``lock.mdb``), the directory
unpacked from ``bedroom_train_lmdb.zip`` of the official LSUN download script; keys are image ids,
values JPEG/WebP bytes. Canonical order: LMDB key order. Expected count: 3,033,042 (the official
bedroom train set; a different count stops preparation).
Preprocessing ``lsun-v1``: decode to RGB, then ``tf.image.resize_image_with_crop_or_pad(img, 128,
128)`` semantics (:func:`crop_or_pad`): a central crop WITHOUT rescaling, zero padding for smaller sides.
Split: test = 30,588 by a seeded permutation (seed 0) of the key order, train = the rest.

Reading never loads the database into RAM: the planner scans keys once (values untouched) and keeps an
anchor key every ``ANCHOR_EVERY`` positions; workers seek to the nearest anchor and stream forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ganaudit.data.imageops import crop_or_pad, decode_rgb
from ganaudit.data.registry import DatasetInfo, register, seeded_test_indices
from ganaudit.utils.errors import DataError

LMDB_DIR = "bedroom_train_lmdb"
N_BEDROOM = 3033042
ANCHOR_EVERY = 1024
RESOLUTION = 128


def _open_env(path: Path):
    # deferred: lmdb is needed (and installed) only for LSUN
    import lmdb

    if not (path / "data.mdb").is_file():
        raise DataError(f"missing LMDB {path / 'data.mdb'}: expected the official LSUN "
                        f"'{LMDB_DIR}' directory (data.mdb, lock.mdb) unpacked there")
    try:
        return lmdb.open(str(path), readonly=True, lock=False, readahead=False, max_readers=64)
    except lmdb.Error as exc:
        raise DataError(f"cannot open LMDB {path}: {exc}; expected the official LSUN bedroom "
                        "LMDB") from None


def scan_anchors(path: Path, every: int = ANCHOR_EVERY) -> tuple[int, list[bytes]]:
    """(number of keys, key at positions 0, every, 2·every, ...) by one key-only cursor pass."""
    env = _open_env(path)
    anchors: list[bytes] = []
    n = 0
    with env.begin() as txn:
        for key in txn.cursor().iternext(keys=True, values=False):
            if n % every == 0:
                anchors.append(bytes(key))
            n += 1
    env.close()
    return n, anchors


@dataclass
class LsunSource:
    """Source over an LMDB; ``anchors[j]`` is the key at position ``j * every``."""

    lmdb_path: Path
    count: int
    anchors: list[bytes] = field(repr=False)
    every: int = ANCHOR_EVERY

    def read(self, indices: Sequence[int]) -> Iterator[tuple[str, np.ndarray]]:
        """Stream the images at ascending positions ``indices``; jumps via anchors over gaps."""
        if len(indices) == 0:
            return
        env = _open_env(self.lmdb_path)
        try:
            with env.begin() as txn:
                cur, pos = txn.cursor(), -1
                for target in (int(i) for i in indices):
                    if pos < 0 or target - pos > self.every:  # seek to the anchor below target
                        pos = (target // self.every) * self.every
                        if not cur.set_key(self.anchors[pos // self.every]):
                            raise DataError(f"LMDB {self.lmdb_path} lost key "
                                            f"{self.anchors[pos // self.every]!r}; was it modified?")
                    while pos < target:
                        if not cur.next():
                            raise DataError(f"LMDB {self.lmdb_path} ended at position {pos}; "
                                            f"expected {self.count} entries")
                        pos += 1
                    name = bytes(cur.key()).decode("ascii", "replace")
                    img = decode_rgb(bytes(cur.value()), f"{self.lmdb_path}[key {name}]")
                    yield name, crop_or_pad(img, RESOLUTION, RESOLUTION)
        finally:
            env.close()

    def test_indices(self, seed: int, n_test: int) -> np.ndarray:
        return seeded_test_indices(self.count, seed, n_test)


def open_lsun(raw_dir: Path, n_total: int | None = N_BEDROOM) -> LsunSource:
    """Source over ``raw_dir/bedroom_train_lmdb``; DataError unless it holds ``n_total`` entries."""
    path = Path(raw_dir) / LMDB_DIR
    n, anchors = scan_anchors(path)
    expected = N_BEDROOM if n_total is None else int(n_total)
    if n != expected:
        raise DataError(f"LMDB {path} holds {n} images; expected {expected} (official LSUN bedroom "
                        f"train set)")
    return LsunSource(lmdb_path=path, count=n, anchors=anchors)


LSUN_BEDROOM = register(
    DatasetInfo(
        name="lsun_bedroom",
        resolution=RESOLUTION,
        n_total=N_BEDROOM,
        n_test=30588,
        preprocessing="LMDB key order; decode RGB; tf.image.resize_image_with_crop_or_pad to "
        "128x128 (central crop, no rescale, zero pad if smaller)",
        preprocessing_version="lsun-v1",
        raw_hint=f"data/raw/lsun_bedroom/{LMDB_DIR}/data.mdb (unzip bedroom_train_lmdb.zip from "
        "the official LSUN download, `python download.py -c bedroom`, into data/raw/lsun_bedroom/)",
        open_source=open_lsun,
        shard_size=2048,
    )
)
