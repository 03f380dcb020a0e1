"""Raw-input inventories: a small deterministic JSON per dataset that pins its raw bytes.

``python -m ganaudit.data fetch <name>`` obtains (CIFAR-10: download + md5) or checks (CelebA-HQ,
LSUN: user files) the raw input and writes ``data/raw/inventory/<name>.json``, the dependency of the
DVC ``prepare@<name>`` stage: it changes exactly when the raw bytes change. File digests are cached
in ``<name>.cache.json`` keyed by (path, size, mtime_ns), so reruns do not rehash 40 GB.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ganaudit.data.celeba_hq import list_images
from ganaudit.data.cifar10 import MD5, TARBALL, download
from ganaudit.data.lsun import LMDB_DIR
from ganaudit.data.registry import DATASETS
from ganaudit.data.store import atomic_write_bytes, dumps
from ganaudit.utils.errors import DataError
from ganaudit.utils.hashing import sha256_file


class DigestCache:
    """sha256 of files, reused while (size, mtime_ns) are unchanged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def digest(self, file: Path) -> str:
        st = file.stat()
        key, stamp = str(file), [st.st_size, st.st_mtime_ns]
        hit = self.entries.get(key)
        if hit is None or hit[0] != stamp:
            self.entries[key] = hit = [stamp, sha256_file(file)]
        return hit[1]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, dumps(self.entries))


def _files_entry(raw_dir: Path, files: list[Path], cache: DigestCache) -> dict:
    lines = [f"{p.relative_to(raw_dir).as_posix()}\t{p.stat().st_size}\t{cache.digest(p)}"
             for p in files]
    return {"count": len(files), "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest()}


def inventory(name: str, raw_dir: Path, cache_path: Path) -> dict:
    """The inventory dict of dataset ``name`` (DataError naming the file/dir if absent or wrong)."""
    info = DATASETS.get(name)
    cache = DigestCache(cache_path)
    out: dict = {"dataset": name}
    if name == "digits":
        # deferred: scikit-learn's import time, for the digits dataset only
        from sklearn.datasets import load_digits

        raw = np.ascontiguousarray(load_digits().images, dtype=np.float64)  # [1797, 8, 8]
        out.update(count=len(raw), sha256=hashlib.sha256(raw.tobytes()).hexdigest())
    elif name == "cifar10":
        tar = download(raw_dir)  # downloads if absent; md5-checked either way
        out.update(file=TARBALL, md5=MD5, size=tar.stat().st_size, sha256=cache.digest(tar))
    elif name == "celeba_hq_128":
        source = info.open_source(raw_dir)  # checks the count
        files = [raw_dir / rel for rel in list_images(raw_dir)]
        out.update(_files_entry(raw_dir, files, cache), count=source.count)
    elif name == "lsun_bedroom":
        source = info.open_source(raw_dir)  # scans keys, checks the count
        mdb = raw_dir / LMDB_DIR / "data.mdb"
        out.update(count=source.count, file=f"{LMDB_DIR}/data.mdb", size=mdb.stat().st_size,
                   sha256=cache.digest(mdb))
    else:  # a new dataset must say how its raw bytes are pinned
        raise DataError(f"no inventory rule for dataset '{name}'")
    cache.save()
    return out


def write_inventory(name: str, raw_dir: Path, out_dir: Path) -> Path:
    """Write ``<out_dir>/<name>.json`` (atomically; unchanged bytes if the raw input is unchanged)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    atomic_write_bytes(path, dumps(inventory(name, raw_dir, out_dir / f"{name}.cache.json")))
    return path
