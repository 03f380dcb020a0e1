"""``celeba_hq_128``: the 30,000 CelebA-HQ images from a user directory (spec §7), 27,000 / 3,000.

Raw input: ``data/raw/celeba_hq_128/`` holding exactly 30,000 images (``*.png``, ``*.jpg``, ``*.jpeg``,
any sub-folders), each square at 128² or 128·2^k (e.g. the 1024² CelebA-HQ files made by ProGAN's
``dataset_tool``). Canonical order: relative paths sorted as strings (POSIX separators).
Preprocessing ``celebahq-v1``: 128² is kept as is; larger images are reduced by ProGAN's 2×2 box
chain (float32 averages, one ``rint`` at the end; :func:`box_downsample_chain`). The spec marks the
authors' exact 128² generation UNCONFIRMED; this is our stated choice.
Split: test = 3,000 by a seeded permutation (seed 0), train = the rest, both in canonical order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from ganaudit.data.imageops import box_downsample_chain, check_square_pow2, read_rgb_file
from ganaudit.data.registry import DatasetInfo, register, seeded_test_indices
from ganaudit.utils.errors import ConfigError, DataError

SUFFIXES = (".png", ".jpg", ".jpeg")
RESOLUTION = 128


def list_images(raw_dir: Path) -> list[str]:
    """Sorted POSIX relative paths of the image files under ``raw_dir`` (DataError if missing)."""
    if not raw_dir.is_dir():
        raise DataError(f"missing directory {raw_dir}: expected the 30,000 CelebA-HQ images "
                        f"(PNG/JPEG, 1024x1024 or 128x128) there")
    return sorted(p.relative_to(raw_dir).as_posix() for p in raw_dir.rglob("*")
                  if p.is_file() and p.suffix.lower() in SUFFIXES)


def _pil_downsample(image: np.ndarray, target: int, method: str) -> np.ndarray:
    """uint8 [target, target, 3] by PIL's resize with ``method`` (``box`` or ``lanczos``)."""
    flag = {"box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS}[method]
    return np.asarray(Image.fromarray(image).resize((target, target), flag), dtype=np.uint8)


DOWNSAMPLERS = ("box_chain", "pil_box", "pil_lanczos")


def to_128(image: np.ndarray, where: str, downsample: str = "box_chain") -> np.ndarray:
    """uint8 [128, 128, 3] from a square uint8 [S, S, 3] image with S = 128·2^k.

    downsample: ``box_chain`` (default; ProGAN's 2×2 chain, :func:`box_downsample_chain`),
    ``pil_box`` or ``pil_lanczos`` (PIL ``Image.resize``), for the UNCONFIRMED 128² generation."""
    try:
        check_square_pow2(image.shape, RESOLUTION)
        if downsample == "box_chain" or image.shape[0] == RESOLUTION:
            return box_downsample_chain(image, RESOLUTION)
        return _pil_downsample(image, RESOLUTION, downsample.removeprefix("pil_"))
    except ValueError as exc:
        raise DataError(f"{where}: {exc}; expected a square CelebA-HQ image of 128x128 or "
                        f"1024x1024 (128·2^k)") from None


@dataclass
class CelebAHQSource:
    """Source over the sorted image files of ``raw_dir``."""

    raw_dir: Path
    files: list[str]
    downsample: str = "box_chain"
    count: int = field(init=False)

    def __post_init__(self) -> None:
        self.count = len(self.files)

    @property
    def preprocessing_version(self) -> str:
        """``celebahq-v1``, suffixed with the downsampler when it is not the default."""
        return "celebahq-v1" + ("" if self.downsample == "box_chain" else f"+{self.downsample}")

    def read(self, indices: Sequence[int]) -> Iterator[tuple[str, np.ndarray]]:
        for i in indices:
            rel = self.files[int(i)]
            path = self.raw_dir / rel
            yield rel, to_128(read_rgb_file(path), str(path), self.downsample)

    def test_indices(self, seed: int, n_test: int) -> np.ndarray:
        return seeded_test_indices(self.count, seed, n_test)


def open_celeba_hq(raw_dir: Path, n_total: int | None = 30000,
                   downsample: str = "box_chain") -> CelebAHQSource:
    """Source over ``raw_dir``; DataError naming the directory if it does not hold ``n_total`` images.

    ``downsample`` (option ``--source-option downsample=...``): one of :data:`DOWNSAMPLERS`."""
    if downsample not in DOWNSAMPLERS:
        raise ConfigError(f"celeba_hq_128 option downsample='{downsample}'; allowed: "
                          f"{', '.join(DOWNSAMPLERS)}")
    raw_dir = Path(raw_dir)
    files = list_images(raw_dir)
    expected = 30000 if n_total is None else int(n_total)
    if len(files) != expected:
        raise DataError(f"{raw_dir} holds {len(files)} images (*.png/*.jpg/*.jpeg); expected "
                        f"{expected} CelebA-HQ images")
    return CelebAHQSource(raw_dir=raw_dir, files=files, downsample=downsample)


CELEBA_HQ_128 = register(
    DatasetInfo(
        name="celeba_hq_128",
        resolution=RESOLUTION,
        n_total=30000,
        n_test=3000,
        preprocessing="sorted image files; 128x128 kept, 128*2^k reduced by ProGAN 2x2 box chain "
        "(float32 means, rint once)",
        preprocessing_version="celebahq-v1",
        raw_hint="data/raw/celeba_hq_128/: the 30,000 CelebA-HQ images as PNG or JPEG, 1024x1024 "
        "(ProGAN dataset_tool output) or 128x128, any file names (sorted order defines ids)",
        open_source=open_celeba_hq,
        shard_size=2048,
    )
)
