"""GANDataModule: an endless, seeded stream of real batches (docs/CONTRACTS.md §2).

The batch sequence is a pure function of (seed, number of images, batch size):
pass ``p`` uses the permutation ``numpy.random.default_rng([seed, p]).permutation(n)`` cut into
``n // batch_size`` batches (drop_last), and passes follow one another forever. Batch ``k`` is thus
:func:`batch_indices` ``(k, ...)``. The index stream is produced in the main process (a batch sampler),
workers only read pixels, so ``num_workers`` never changes the batches. ``state_dict()`` /
``load_state_dict()`` carry the stream position (``next_batch``) for exact resume.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from ganaudit.data.store import open_split
from ganaudit.utils.errors import ConfigError


def pass_permutation(seed: int, pass_index: int, n: int) -> np.ndarray:
    """int64 [n]: the image order of pass ``pass_index`` (seeded by the pair (seed, pass_index))."""
    return np.random.default_rng([int(seed), int(pass_index)]).permutation(n).astype(np.int64)


def batch_indices(k: int, n: int, batch_size: int, seed: int) -> np.ndarray:
    """int64 [batch_size]: the image indices of batch ``k`` (0-based) of the endless stream."""
    per_pass = n // batch_size
    p, j = divmod(int(k), per_pass)
    return pass_permutation(seed, p, n)[j * batch_size : (j + 1) * batch_size]


class _Rows(Dataset):
    """Map-style dataset over anything with ``read_rows(indices) -> uint8 [b, R, R, 3]``.

    ``__getitems__`` (used by DataLoader for whole batches) returns uint8 [b, 3, R, R]; the loader
    converts to float in the main process (:func:`to_unit_float`).
    """

    def __init__(self, source: Any) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        rows = self.source.read_rows(np.asarray(indices, dtype=np.int64))  # [b, R, R, 3] uint8
        return torch.from_numpy(np.ascontiguousarray(rows.transpose(0, 3, 1, 2)))  # [b,3,R,R] uint8

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.__getitems__([i])[0]


def to_unit_float(batch: torch.Tensor) -> torch.Tensor:
    """float32 [B, 3, R, R] in [0, 1] from uint8 [B, 3, R, R] (x / 255, exact IEEE division).

    Done in numpy, single-threaded: torch's intra-op pool contended with the training step on
    2 cores. Runs in the main process, so workers ship uint8 (4x less inter-process traffic)."""
    return torch.from_numpy(np.divide(batch.numpy(), np.float32(255), dtype=np.float32))


class _ArrayRows:
    """In-memory uint8 [N, R, R, 3] with the ``read_rows`` interface."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def read_rows(self, indices: np.ndarray) -> np.ndarray:
        return self.images[indices]


class _StreamSampler:
    """Batch sampler yielding batch ``k``'s indices for k = start, start+1, ... (forever)."""

    def __init__(self, owner: "GANDataModule", n: int) -> None:
        self.owner, self.n = owner, n

    def __iter__(self) -> Iterator[list[int]]:
        o = self.owner
        k = o.batches_delivered  # a new iterator continues the stream where the consumer is
        per_pass = self.n // o.batch_size
        while True:
            p, j = divmod(k, per_pass)
            perm = pass_permutation(o.seed, p, self.n)
            for jj in range(j, per_pass):
                yield perm[jj * o.batch_size : (jj + 1) * o.batch_size].tolist()
            k = (p + 1) * per_pass


class _StreamLoader(DataLoader):
    """DataLoader that counts the batches it hands to the consumer (main process, after any
    worker prefetch), so ``GANDataModule.state_dict()`` reports the delivered position exactly."""

    def __init__(self, *args: Any, owner: "GANDataModule", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def __iter__(self) -> Iterator[torch.Tensor]:  # type: ignore[override]
        for batch in super().__iter__():
            self._owner.batches_delivered += 1
            yield to_unit_float(batch)


def _identity(batch: torch.Tensor) -> torch.Tensor:
    return batch


def _seed_worker(worker_id: int) -> None:
    """Seed numpy and python in a worker from torch's per-worker seed (base seed + worker id)."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


class GANDataModule(pl.LightningDataModule):
    """Serves the train split of a prepared dataset as float32 [B, 3, R, R] in [0, 1] batches.

    dataset: a ``DATASETS`` name; data_dir: its prepared store (``${paths.data}/<name>``);
    batch_size: images per batch (64 in the study); seed: the stream seed; num_workers: reader
    processes (batches identical for any value). ``next_batch`` is the index of the next batch the
    loader will produce; set it with ``load_state_dict({"next_batch": k})`` before iterating.
    """

    def __init__(self, dataset: str, data_dir: str | Path, batch_size: int, seed: int,
                 num_workers: int = 0, split: str = "train") -> None:
        super().__init__()
        if int(batch_size) < 1:
            raise ConfigError(f"data batch_size={batch_size}; expected an integer >= 1")
        self.dataset_name, self.data_dir, self.split = dataset, data_dir, split
        self.batch_size, self.seed, self.num_workers = int(batch_size), int(seed), int(num_workers)
        self.next_batch = 0
        self.batches_delivered = 0
        self._rows: Any = None

    @classmethod
    def from_arrays(cls, images_uint8_nhwc: np.ndarray | torch.Tensor, batch_size: int, seed: int,
                    num_workers: int = 0) -> "GANDataModule":
        """A module over in-memory images uint8 [N, R, R, 3] (tests, demos)."""
        arr = np.asarray(images_uint8_nhwc)
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] != 3:
            raise ConfigError(f"from_arrays expects uint8 [N, H, W, 3]; got {arr.dtype} {arr.shape}")
        return cls.from_rows(_ArrayRows(arr), batch_size, seed, num_workers)

    @classmethod
    def from_rows(cls, rows: Any, batch_size: int, seed: int, num_workers: int = 0,
                  name: str = "<rows>") -> "GANDataModule":
        """A module over any ``rows`` with ``len()`` and ``read_rows(indices) -> uint8 [b,R,R,3]``
        (e.g. a :class:`~ganaudit.data.store.SplitView` from ``open_view``)."""
        dm = cls(name, "<rows>", batch_size, seed, num_workers)
        dm._rows = rows
        return dm

    def setup(self, stage: str | None = None) -> None:
        if self._rows is None:
            self._rows = open_split(self.dataset_name, self.split, self.data_dir)

    @property
    def num_images(self) -> int:
        self.setup()
        return len(self._rows)

    def train_dataloader(self) -> DataLoader:
        """Endless DataLoader of float32 [B, 3, R, R] in [0, 1]; each new iterator starts at the
        stream position (batches delivered so far, or ``next_batch`` from ``load_state_dict``)."""
        self.setup()
        n = len(self._rows)
        if n < self.batch_size:
            raise ConfigError(f"batch_size={self.batch_size} exceeds the {n} images of "
                              f"{self.dataset_name}/{self.split}; expected batch_size <= {n}")
        gen = torch.Generator().manual_seed(self.seed)
        return _StreamLoader(_Rows(self._rows), batch_sampler=_StreamSampler(self, n),
                             collate_fn=_identity, num_workers=self.num_workers,
                             worker_init_fn=_seed_worker, generator=gen, owner=self)

    def state_dict(self) -> dict[str, Any]:
        """{"next_batch", "seed", "batch_size", "num_images"}; ``next_batch`` is the stream position
        after the batches the loader has delivered to its consumer (worker prefetch is not counted).
        Lightning's fetcher reads one batch ahead of ``training_step``: for exact resume under
        Lightning, store the number of batches your loop consumed (the D-step count) as
        ``next_batch`` instead, e.g. ``dm.load_state_dict({"next_batch": d_steps})``."""
        return {"next_batch": int(self.batches_delivered), "seed": self.seed,
                "batch_size": self.batch_size,
                "num_images": None if self._rows is None else len(self._rows)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the stream at ``state["next_batch"]``; ConfigError if seed/batch size differ."""
        for key in ("seed", "batch_size"):
            if key in state and state[key] != getattr(self, key):
                raise ConfigError(f"data state has {key}={state[key]}; this module has "
                                  f"{key}={getattr(self, key)} (resume with the same config)")
        self.next_batch = self.batches_delivered = int(state["next_batch"])
