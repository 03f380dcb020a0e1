"""Tiny raw inputs in each real format, built by the tests themselves (nothing is downloaded)."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def cifar_images(per_batch: int) -> np.ndarray:
    """uint8 [6*per_batch, 32, 32, 3]; image i has a distinct, position-dependent pattern."""
    rng = np.random.default_rng(1234)
    return rng.integers(0, 256, (6 * per_batch, 32, 32, 3), dtype=np.uint8)


def make_cifar_tarball(raw_dir: Path, per_batch: int = 4) -> tuple[Path, str, np.ndarray]:
    """A CIFAR-10 python tarball (real layout and pickle format) with ``per_batch`` images per batch.

    Returns (path, md5, images HWC uint8 [6*per_batch, 32, 32, 3] in file order)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    images = cifar_images(per_batch)
    path = raw_dir / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        for b, name in enumerate(BATCHES):
            chunk = images[b * per_batch : (b + 1) * per_batch]
            flat = chunk.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # CHW-flat rows
            payload = pickle.dumps({b"batch_label": name.encode(), b"data": flat,
                                    b"labels": [i % 10 for i in range(per_batch)],
                                    b"filenames": [f"f{i}.png".encode() for i in range(per_batch)]},
                                   protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size, info.mtime = len(payload), 0
            tar.addfile(info, io.BytesIO(payload))
    return path, hashlib.md5(path.read_bytes()).hexdigest(), images


def encode(img: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, **kw)
    return buf.getvalue()


def random_image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def make_lsun_lmdb(raw_dir: Path, sizes: list[tuple[int, int]]) -> tuple[Path, dict[bytes, bytes]]:
    """An LSUN-style LMDB at ``raw_dir/bedroom_train_lmdb`` (key -> WebP-lossless or JPEG bytes).

    Even indices are lossless WebP (exact pixels), odd ones JPEG. Returns (dir, {key: value})."""
    import lmdb

    path = raw_dir / "bedroom_train_lmdb"
    path.mkdir(parents=True, exist_ok=True)
    values = {}
    for i, (h, w) in enumerate(sizes):
        img = random_image(h, w, seed=i)
        key = hashlib.sha1(f"img{i}".encode()).hexdigest().encode()  # hex ids like LSUN's
        values[key] = encode(img, "WEBP", lossless=True) if i % 2 == 0 else \
            encode(img, "JPEG", quality=90)
    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for k, v in values.items():
            txn.put(k, v)
    env.close()
    return path, values


def make_celeba_dir(raw_dir: Path, n: int, big: int = 512) -> dict[str, np.ndarray]:
    """``n`` images: even i as PNG at big×big, odd i as lossless-ish PNG at 128² in a sub-folder.

    Returns {relative path: decoded uint8 image as written}."""
    out = {}
    for i in range(n):
        size = big if i % 2 == 0 else 128
        rel = f"{i:05d}.png" if i % 2 == 0 else f"sub/{i:05d}.png"
        img = random_image(size, size, seed=100 + i)
        (raw_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (raw_dir / rel).write_bytes(encode(img, "PNG"))
        out[rel] = img
    return out
