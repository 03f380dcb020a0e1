"""The dataset axis: one registry, one :class:`DatasetInfo` per dataset (Hydra option ``dataset=<name>``).

Everything here is known without any file on disk (resolution, pinned sizes, where raw files go), so
the training and evaluation code can ask ``DATASETS.get("cifar10").resolution`` before preparing data.
Each dataset module (``digits.py``, ``cifar10.py``, ``celeba_hq.py``, ``lsun.py``) registers one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from ganaudit.utils.registry import Registry


class Source(Protocol):
    """Raw images of one dataset in a fixed canonical order (picklable: sent to worker processes).

    ``count`` is the number of raw images; ``read(indices)`` yields ``(item_id, image)`` for ascending
    source indices, ``image`` a uint8 ndarray [R, R, 3] (HWC, already preprocessed to the resolution).
    ``test_indices(seed, n_test)`` returns the sorted source indices of the test split.
    """

    count: int

    def read(self, indices: Sequence[int]) -> Iterator[tuple[str, np.ndarray]]: ...

    def test_indices(self, seed: int, n_test: int) -> np.ndarray: ...


def seeded_test_indices(count: int, seed: int, n_test: int) -> np.ndarray:
    """Sorted int64 [n_test]: the first ``n_test`` entries of a seeded permutation of ``range(count)``.

    The permutation is ``numpy.random.default_rng(seed).permutation(count)`` (PCG64; stable across
    platforms and numpy versions by numpy's stream-compatibility policy for ``Generator.permutation``).
    """
    perm = np.random.default_rng(seed).permutation(count)
    return np.sort(perm[:n_test]).astype(np.int64)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts of one dataset (spec §7).

    resolution: served images are [3, resolution, resolution].
    n_total / n_test: the pinned image counts of the real data (tests may override them).
    preprocessing: human-readable statement of the raw -> uint8 HWC transform; its ``version`` string is
      recorded in every manifest, so a changed transform cannot silently match an old manifest.
    raw_hint: exactly which file(s) the user must put where (shown by errors and the CLI).
    open_source(raw_dir, n_total) -> Source.
    """

    name: str
    resolution: int
    n_total: int | None
    n_test: int
    preprocessing: str
    preprocessing_version: str
    raw_hint: str
    open_source: Callable[..., Source]
    default_seed: int = 0
    shard_size: int = 4096
    extra: dict[str, Any] = field(default_factory=dict)

    def raw_dir(self, root: str | Path = ".") -> Path:
        """Default raw-input directory ``<root>/data/raw/<name>``."""
        return Path(root) / "data" / "raw" / self.name


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register(info: DatasetInfo) -> DatasetInfo:
    """Register ``info`` under ``info.name`` and return it."""
    return DATASETS.register(info.name)(info)
