"""Reviewer inputs: generated samples from an array file or an image folder, validated and streamed.

Accepted forms (anything else is refused with a DataError saying what was expected):
* ``.npz`` (one array, or an array named ``images``) or ``.npy`` (memory-mapped):
  - uint8 [N, R, R, 3] (the stored-image convention: HWC, 0..255), or
  - float16/32/64 [N, 3, R, R] with values in [0, 255] (unquantized fakes, spec §6.1);
* a folder of ``.png`` files (sorted by name), each an RGB (or grayscale, expanded) R x R image.
N must equal the protocol's number of fakes and R the dataset's resolution; NaN/inf are refused.
Batches are yielded as float32 [b, 3, R, R] in [0, 255]; arrays are read slice by slice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ganaudit.errors import DataError

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
IMAGE_SUFFIXES = (".png",)


def _open_array(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, mmap_mode="r", allow_pickle=False)
    with np.load(path, allow_pickle=False) as z:
        names = list(z.keys())
        if "images" in names:
            return z["images"]
        if len(names) == 1:
            return z[names[0]]
    raise DataError(f"samples '{path}': holds arrays {names}; expected one array or one named 'images'")


def _expected(n: int, r: int) -> str:
    return (f"expected uint8 [N, {r}, {r}, 3] (HWC, 0..255) or float [N, 3, {r}, {r}] in [0, 255], "
            f"with N = {n} samples")


def check_array(arr: np.ndarray, n: int, resolution: int, source: str) -> str:
    """'uint8_nhwc' or 'float_nchw' for a valid samples array; DataError naming ``source`` otherwise."""
    r = resolution
    if arr.dtype == np.uint8 and arr.ndim == 4 and arr.shape[1:] == (r, r, 3):
        layout = "uint8_nhwc"
    elif arr.dtype in FLOAT_DTYPES and arr.ndim == 4 and arr.shape[1:] == (3, r, r):
        layout = "float_nchw"
    else:
        raise DataError(f"samples {source}: dtype {arr.dtype}, shape {tuple(arr.shape)}; {_expected(n, r)}")
    if arr.shape[0] != n:
        raise DataError(f"samples {source}: {arr.shape[0]} samples; the protocol needs exactly {n} "
                        f"(shape {tuple(arr.shape)}; {_expected(n, r)})")
    if layout == "float_nchw":
        for start in range(0, n, 1000):  # slice by slice: a memory-mapped file is never read whole
            chunk = np.asarray(arr[start : start + 1000], dtype=np.float64)
            if not np.isfinite(chunk).all():
                bad = start + int(np.argwhere(~np.isfinite(chunk).reshape(len(chunk), -1).all(1))[0][0])
                raise DataError(f"samples {source}: sample {bad} holds NaN or inf; expected finite pixels in "
                                "[0, 255] (NaN samples are refused; the study's FID sentinel 31337 is only "
                                "recorded during training)")
            lo, hi = float(chunk.min()), float(chunk.max())
            if lo < 0.0 or hi > 255.0:
                raise DataError(f"samples {source}: values in [{lo:.4g}, {hi:.4g}]; expected [0, 255]")
    return layout


def array_batches(arr: np.ndarray, layout: str, batch: int) -> Iterator[torch.Tensor]:
    """float32 [b, 3, R, R] in [0, 255] batches of a checked array."""
    for start in range(0, arr.shape[0], batch):
        t = torch.from_numpy(np.array(arr[start : start + batch]))  # a writable copy of the slice
        yield t.permute(0, 3, 1, 2).float() if layout == "uint8_nhwc" else t.float()


def folder_files(folder: Path, n: int, resolution: int) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) != n:
        raise DataError(f"samples folder '{folder}': {len(files)} .png images; the protocol needs exactly {n}")
    return files


def folder_batches(files: list[Path], resolution: int, batch: int) -> Iterator[torch.Tensor]:
    """float32 [b, 3, R, R] batches of PNG files; DataError naming a file of the wrong size/mode."""
    from PIL import Image

    for start in range(0, len(files), batch):
        arrays = []
        for f in files[start : start + batch]:
            with Image.open(f) as im:
                if im.mode not in ("RGB", "L") or im.size != (resolution, resolution):
                    raise DataError(f"sample image '{f}': mode {im.mode}, size {im.size}; expected an RGB "
                                    f"(or grayscale) {resolution}x{resolution} image")
                arrays.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
        yield torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()


def sample_batches(path: Path, n: int, resolution: int, batch: int) -> Iterator[torch.Tensor]:
    """Validate ``path`` (array file or PNG folder) up front, then stream its batches."""
    path = Path(path)
    if path.is_dir():
        files = folder_files(path, n, resolution)
        return folder_batches(files, resolution, batch)
    if not path.is_file():
        raise DataError(f"samples '{path}': no such file or folder; expected a .npz/.npy file or a PNG folder")
    if path.suffix not in (".npz", ".npy"):
        raise DataError(f"samples '{path}': unknown kind '{path.suffix}'; expected .npz, .npy, a PNG "
                        "folder, or a generator checkpoint (.pt/.pth/.ckpt)")
    arr = _open_array(path)
    layout = check_array(arr, n, resolution, f"'{path}'")
    return array_batches(arr, layout, batch)
