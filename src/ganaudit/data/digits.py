"""``digits``: the embedded offline default, scikit-learn's 1,797 handwritten 8×8 digits.

Rendering to 32×32 RGB (preprocessing version ``digits-v1``):
  1. values 0..16 -> 0..255 by ``round(v * 255 / 16)`` (exact integers: 0 -> 0, 8 -> 128, 16 -> 255);
  2. 4× nearest-neighbour replication (each source pixel becomes a 4×4 block): 8×8 -> 32×32;
  3. the grey value is copied to the 3 RGB channels.
Split: seeded permutation (seed 0), test = 500 images, train = the other 1,297, each in source order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ganaudit.data.registry import DatasetInfo, register, seeded_test_indices
from ganaudit.utils.errors import DataError

N_DIGITS = 1797


@functools.lru_cache(maxsize=1)
def _sklearn_digits() -> np.ndarray:
    # deferred: scikit-learn's import time, when the digits raw input is read
    from sklearn.datasets import load_digits

    return load_digits().images


def render_digits(raw: np.ndarray) -> np.ndarray:
    """uint8 [N, 32, 32, 3] from sklearn digit images ``raw`` [N, 8, 8] with values 0..16."""
    grey = np.rint(raw.astype(np.float64) * (255.0 / 16.0)).astype(np.uint8)  # [N, 8, 8]
    big = grey.repeat(4, axis=1).repeat(4, axis=2)  # [N, 32, 32] nearest neighbour
    return np.repeat(big[..., None], 3, axis=3)  # [N, 32, 32, 3]


@dataclass
class DigitsSource:
    """The digits as a Source; ``raw_dir`` is unused (the data ships inside scikit-learn)."""

    count: int = N_DIGITS

    def _images(self) -> np.ndarray:
        raw = _sklearn_digits()  # [1797, 8, 8] float64 in 0..16
        if len(raw) < self.count:
            raise DataError(f"sklearn load_digits() has {len(raw)} images; expected {self.count}")
        return render_digits(raw[: self.count])

    def read(self, indices: Sequence[int]) -> Iterator[tuple[str, np.ndarray]]:
        images = self._images()
        for i in indices:
            yield f"digits/{int(i):04d}", images[int(i)]

    def test_indices(self, seed: int, n_test: int) -> np.ndarray:
        return seeded_test_indices(self.count, seed, n_test)


def open_digits(raw_dir: Path | None = None, n_total: int | None = None) -> DigitsSource:
    """Source over the first ``n_total`` (default all 1,797) sklearn digits."""
    return DigitsSource(count=N_DIGITS if n_total is None else int(n_total))


DIGITS = register(
    DatasetInfo(
        name="digits",
        resolution=32,
        n_total=N_DIGITS,
        n_test=500,
        preprocessing="sklearn load_digits 8x8 0..16 -> round(v*255/16) -> 4x nearest-neighbour "
        "-> grey copied to RGB (32x32x3 uint8)",
        preprocessing_version="digits-v1",
        raw_hint="nothing to download: the digits ship inside scikit-learn",
        open_source=open_digits,
        shard_size=512,
    )
)
