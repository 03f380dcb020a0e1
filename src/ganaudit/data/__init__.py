"""Pinned data: dataset registry, prepared stores, split manifests, the DataModule.

    DATASETS.get("cifar10").resolution          # 32, no file needed
    view = open_split("digits", "test", "data/prepared/digits")
    view[0]  # uint8 Tensor [3, 32, 32]

See docs/CONTRACTS.md §2 and docs/notes/data.md.
"""

from ganaudit.data import celeba_hq, cifar10, digits, lsun  # noqa: F401  (register the datasets)
from ganaudit.data.registry import DATASETS, DatasetInfo
from ganaudit.data.store import SplitView, open_split

__all__ = ["DATASETS", "DatasetInfo", "SplitView", "open_split", "GANDataModule"]


def __getattr__(name: str):
    if name == "GANDataModule":  # lazy: keeps `import ganaudit.data` free of Lightning's import time
        # deferred: keeps `import ganaudit.data` free of Lightning's import time
        from ganaudit.data.datamodule import GANDataModule

        return GANDataModule
    raise AttributeError(name)
