"""``cifar10``: the official CIFAR-10 python tarball (spec §7), 50,000 train / 10,000 test.

Raw input: ``data/raw/cifar10/cifar-10-python.tar.gz`` (downloaded by ``python -m ganaudit.data fetch
cifar10`` from :data:`URL`, md5 pinned). Canonical order: ``data_batch_1`` .. ``data_batch_5`` (train,
file order) then ``test_batch`` (the official test set, file order). Each pickled batch holds
``data`` uint8 [n, 3072] (1024 R, 1024 G, 1024 B, row-major 32×32) -> stored as HWC [n, 32, 32, 3].
The split is fixed by the files, not seeded.
"""

from __future__ import annotations

import pickle
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ganaudit.data.registry import DatasetInfo, register
from ganaudit.utils.errors import DataError
from ganaudit.utils.hashing import md5_file
from ganaudit.utils.io import atomic_path

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TARBALL = "cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"



def download(raw_dir: Path, url: str = URL, md5: str = MD5) -> Path:
    """Download the tarball into ``raw_dir`` (atomically) unless present; verify its md5 either way."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    dest = raw_dir / TARBALL
    if not dest.exists():
        with atomic_path(dest) as tmp:
            urllib.request.urlretrieve(url, tmp)
    check_md5(dest, md5)
    return dest


def check_md5(path: Path, md5: str = MD5) -> None:
    """DataError naming ``path`` and both digests unless its md5 is ``md5``."""
    if not path.exists():
        raise DataError(f"missing {path}: expected the CIFAR-10 python tarball ({URL}, md5 {md5}); "
                        "run `python -m ganaudit.data fetch cifar10`")
    got = md5_file(path)
    if got != md5:
        raise DataError(f"bad checksum for {path}: md5 {got}, expected {md5} (corrupt or truncated "
                        f"download; delete it and rerun `python -m ganaudit.data fetch cifar10`)")


def _load_batches(tar_path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """{batch name: uint8 [n, 32, 32, 3]} read from the tarball (DataError naming a missing member)."""
    out: dict[str, np.ndarray] = {}
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in names:
                if name not in members:
                    raise DataError(f"{tar_path} has no member '{name}'; expected "
                                    f"cifar-10-batches-py/{name} (official CIFAR-10 python tarball)")
                f = tar.extractfile(members[name])
                batch = pickle.load(f, encoding="bytes")
                data = np.asarray(batch[b"data"], dtype=np.uint8)  # [n, 3072] CHW-flat
                out[name] = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()  # [n,32,32,3]
    except (tarfile.TarError, EOFError, OSError, KeyError, pickle.UnpicklingError) as exc:
        raise DataError(f"cannot read CIFAR-10 batches from {tar_path}: {exc}; expected the "
                        f"official python tarball (md5 {MD5})") from None
    return out


@dataclass
class Cifar10Source:
    """Source over the tarball; ``sizes`` = images per batch (10,000 each in the real data)."""

    tar_path: Path
    md5: str | None = MD5
    per_batch: int = 10000
    count: int = field(init=False)

    def __post_init__(self) -> None:
        self.count = 6 * self.per_batch

    def _all(self) -> np.ndarray:
        batches = _load_batches(self.tar_path, TRAIN_BATCHES + (TEST_BATCH,))
        for name, arr in batches.items():
            if len(arr) != self.per_batch:
                raise DataError(f"{self.tar_path}:{name} holds {len(arr)} images; expected "
                                f"{self.per_batch}")
        return np.concatenate([batches[n] for n in TRAIN_BATCHES + (TEST_BATCH,)])

    def read(self, indices: Sequence[int]) -> Iterator[tuple[str, np.ndarray]]:
        images = self._all()
        names = TRAIN_BATCHES + (TEST_BATCH,)
        for i in indices:
            i = int(i)
            yield f"{names[i // self.per_batch]}/{i % self.per_batch}", images[i]

    def test_indices(self, seed: int, n_test: int) -> np.ndarray:
        """The official test set: the last batch (``seed`` is ignored; ``n_test`` must match)."""
        if n_test != self.per_batch:
            raise DataError(f"cifar10 test split is the official test_batch ({self.per_batch} "
                            f"images); got n_test={n_test}")
        return np.arange(5 * self.per_batch, 6 * self.per_batch, dtype=np.int64)


def open_cifar10(raw_dir: Path, n_total: int | None = None, md5: str | None = MD5) -> Cifar10Source:
    """Source from ``raw_dir/cifar-10-python.tar.gz`` after verifying its md5 (None skips the check,
    for test tarballs). ``n_total`` (default 60,000) must be a multiple of 6 (6 equal batches)."""
    tar_path = Path(raw_dir) / TARBALL
    if md5 is not None:
        check_md5(tar_path, md5)
    elif not tar_path.exists():
        raise DataError(f"missing {tar_path}: expected the CIFAR-10 python tarball ({URL})")
    total = 60000 if n_total is None else int(n_total)
    return Cifar10Source(tar_path=tar_path, md5=md5, per_batch=total // 6)


CIFAR10 = register(
    DatasetInfo(
        name="cifar10",
        resolution=32,
        n_total=60000,
        n_test=10000,
        preprocessing="official python batches, CHW-flat uint8 -> HWC 32x32x3, no resize",
        preprocessing_version="cifar10-v1",
        raw_hint=f"data/raw/cifar10/{TARBALL} (downloaded and md5-checked by "
        f"`python -m ganaudit.data fetch cifar10`, from {URL}, md5 {MD5})",
        open_source=open_cifar10,
    )
)
