"""File digests, read in chunks so that a 40 GB archive never sits in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: str | Path, algorithm: str = "sha256", chunk: int = 1 << 22) -> str:
    """Hex digest of the file ``path`` with ``algorithm`` (any name hashlib knows: sha256, md5, ...)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 hex digest of the file ``path``."""
    return file_digest(path, "sha256")


def md5_file(path: str | Path) -> str:
    """md5 hex digest of the file ``path`` (how the CIFAR-10 authors publish their tarball's digest)."""
    return file_digest(path, "md5")
