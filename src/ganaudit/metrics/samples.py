"""Reviewer inputs: generated samples from an array file or an image folder, validated and streamed.

Accepted forms (anything else is refused with a DataError saying what was expected):
* ``.npz`` (one array, or an array named ``images``) or ``.npy`` (memory-mapped):
  - uint8 [N, R, R, 3] (the stored-image convention: HWC, 0..255), or
  - float16/32/64 [N, 3, R, R] with values in [0, 255] (unquantized fakes, spec §6.1);
* a folder of ``.png`` files (sorted by name), each an RGB (or grayscale, expanded) R x R image.
N must equal the protocol's number of fakes and R the dataset's resolution; NaN/inf are refused.
Batches are yielded as float32 [b, 3, R, R] in [0, 255]; arrays are read slice by slice.

Value ranges: data whose values all lie in [0, 1] (or in [-1, 1] with negatives) is refused, since it
is almost surely images in another convention and would give a plausible-looking but meaningless
FID; the user names such a range (``samples_range=0,1`` or ``-1,1``) to have it rescaled to [0, 255].
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganaudit.utils.errors import ConfigError, DataError

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
IMAGE_SUFFIXES = (".png",)
GENERATOR_SUFFIXES = ".ckpt, .pt or .pth (.ts for TorchScript)"


def sniff(path: Path) -> str | None:
    """What ``path`` holds, from its first bytes (and, for a zip, its member names): ``"torch"`` (a
    PyTorch zip checkpoint, torch.save), ``"pickle"``, ``"npy"``, ``"zip"`` (e.g. an .npz), ``"png"``,
    or None (unknown, unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"PK"):
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
            return "torch" if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names) else "zip"
    except (OSError, zipfile.BadZipFile):
        return None
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head[:1] == b"\x80":
        return "pickle"
    return None


KINDS = {"torch": "a PyTorch checkpoint (torch.save zip)", "pickle": "a Python pickle (e.g. a legacy torch.save "
         "file)", "npy": "a numpy .npy array", "zip": "a zip archive (.npz)", "png": "a PNG image"}


def kind_hint(path: Path) -> str:
    """`` (the file is <what it holds>...)`` for a file whose contents do not match its suffix, else ''."""
    kind = sniff(path)
    if kind in ("torch", "pickle"):
        return f" (the file is {KINDS[kind]}: to evaluate it as a generator, give it the suffix {GENERATOR_SUFFIXES})"
    if kind == "png":
        return " (the file is one PNG image: put the samples in a folder of PNG files and pass the folder)"
    if kind in ("npy", "zip") and path.suffix not in (".npy", ".npz"):
        return f" (the file is {KINDS[kind]}: give it the suffix .{'npy' if kind == 'npy' else 'npz'})"
    return ""


def _check_kind(path: Path) -> None:
    """DataError when a .npy/.npz file holds something else (a checkpoint renamed, ...), naming what."""
    kind, want = sniff(path), ("npy" if path.suffix == ".npy" else "zip")
    if kind in ("torch", "pickle", "png") or (kind in ("npy", "zip") and kind != want):
        fix = (f"; to evaluate it as a generator, give it the suffix {GENERATOR_SUFFIXES}"
               if kind in ("torch", "pickle") else "")
        raise DataError(f"samples '{path}' has the suffix {path.suffix} but is {KINDS[kind]}; expected "
                        f"a numpy {path.suffix} array file (numpy.save / numpy.savez){fix}")


def _open_array(path: Path) -> np.ndarray:
    """The samples array of a .npy/.npz file; DataError for a file numpy cannot read as an array."""
    _check_kind(path)
    try:
        if path.suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        with np.load(path, allow_pickle=False) as z:
            names = list(z.keys())
            if "images" in names:
                return z["images"]
            if len(names) == 1:
                return z[names[0]]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"samples '{path}' is not a readable {path.suffix} array file (truncated, corrupt or "
                        f"another format: {type(exc).__name__}); expected a file written by numpy.save / "
                        "numpy.savez") from None
    raise DataError(f"samples '{path}': holds arrays {names}; expected one array or one named 'images'")


def _expected(n: int, r: int) -> str:
    return (f"expected uint8 [N, {r}, {r}, 3] (HWC, 0..255) or float [N, 3, {r}, {r}] in [0, 255], "
            f"with N = {n} samples")


RANGES = {"0,255": (0.0, 255.0), "0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0)}


def parse_range(text: str | None) -> tuple[float, float] | None:
    """``"0,1"`` -> (0.0, 1.0); None/"" -> None (the default [0, 255], with the look-alike checks)."""
    if text is None or str(text).strip() == "":
        return None
    key = str(text).replace(" ", "").strip("[]()")
    if key not in RANGES:
        raise ConfigError(f"option 'samples_range' = {text!r}: expected one of {', '.join(RANGES)}")
    return RANGES[key]


def range_problem(lo: float, hi: float, value_range: tuple[float, float] | None,
                  integer: bool = False) -> str | None:
    """Why pixel values spanning [lo, hi] do not fit ``value_range`` (None: [0, 255] expected, refusing
    look-alikes of [0, 1] and [-1, 1] images); ``integer``: uint8 data, which only 0,255 can describe."""
    a, b = value_range or (0.0, 255.0)
    span = f"values in [{lo:.4g}, {hi:.4g}]"
    dark = ("; if they are [0, 255] images that are this dark (e.g. all black), pass samples_range=0,255 "
            "to accept them as they are")
    if value_range is None and -1.0 <= lo < 0.0 and hi <= 1.0:
        return f"{span} look like [-1, 1] images; expected [0, 255]: rescale them, or pass samples_range=-1,1"
    if lo < a or hi > b:
        if value_range is not None and value_range != (0.0, 255.0) and lo >= 0.0 and hi <= 255.0:
            return (f"{span}; expected [{a:g}, {b:g}] (samples_range={a:g},{b:g}): they look like [0, 255] "
                    "images, so leave samples_range unset (or pass samples_range=0,255)")
        return f"{span}; expected [{a:g}, {b:g}]"
    if value_range is None and hi <= 1.0 and integer:
        return (f"uint8 {span} look like [0, 1] images stored as integers (0/1 masks); expected 0..255: "
                f"multiply by 255 before casting to uint8{dark}")
    if value_range is None and hi <= 1.0:
        return (f"{span} look like [0, 1] images; expected [0, 255]: multiply by 255, or pass "
                f"samples_range=0,1{dark}")
    return None


def to_255(batch: torch.Tensor, value_range: tuple[float, float] | None) -> torch.Tensor:
    """``batch`` rescaled linearly from ``value_range`` to [0, 255] (unchanged for None)."""
    if value_range is None or value_range == (0.0, 255.0):
        return batch
    lo, hi = value_range
    return (batch - lo) * (255.0 / (hi - lo))


def check_array(arr: np.ndarray, n: int, resolution: int, source: str,
                value_range: tuple[float, float] | None = None) -> str:
    """'uint8_nhwc' or 'float_nchw' for a valid samples array; DataError naming ``source`` otherwise.

    Reads the array once, slice by slice: finite values, and a value range that fits ``value_range``
    (None: [0, 255], refusing data that looks like [0, 1] or [-1, 1] images)."""
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
    if layout == "uint8_nhwc" and value_range not in (None, (0.0, 255.0)):
        raise DataError(f"samples {source}: uint8 images are 0..255; samples_range={value_range} applies to "
                        "float arrays only")
    lo, hi = np.inf, -np.inf
    for start in range(0, n, 1000):  # slice by slice: a memory-mapped file is never read whole
        chunk = np.asarray(arr[start : start + 1000], dtype=np.float64)
        if not np.isfinite(chunk).all():
            bad = start + int(np.argwhere(~np.isfinite(chunk).reshape(len(chunk), -1).all(1))[0][0])
            raise DataError(f"samples {source}: sample {bad} holds NaN or inf; expected finite pixels in "
                            "[0, 255] (NaN samples are refused; the study's FID sentinel 31337 is only "
                            "recorded during training)")
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    problem = range_problem(lo, hi, value_range, integer=layout == "uint8_nhwc")
    if problem:
        raise DataError(f"samples {source}: {problem}")
    return layout


def array_batches(arr: np.ndarray, layout: str, batch: int,
                  value_range: tuple[float, float] | None = None) -> Iterator[torch.Tensor]:
    """float32 [b, 3, R, R] in [0, 255] batches of a checked array (rescaled from ``value_range``)."""
    for start in range(0, arr.shape[0], batch):
        t = torch.from_numpy(np.array(arr[start : start + batch]))  # a writable copy of the slice
        yield t.permute(0, 3, 1, 2).float() if layout == "uint8_nhwc" else to_255(t.float(), value_range)


def checked_generated(batches: Iterator[torch.Tensor], source: str,
                      value_range: tuple[float, float] | None = None) -> Iterator[torch.Tensor]:
    """Batches of a generator's images ``G(z) * 255`` [b, 3, R, R], rescaled from ``value_range`` (the
    range of G's output, e.g. (-1, 1) for a tanh output) and refused (DataError naming ``source``) as
    soon as one leaves [0, 255]: a generator is expected to output [0, 1] images."""
    for batch in batches:
        if value_range is not None:
            batch = to_255(batch / 255.0, value_range)
        finite = batch[torch.isfinite(batch)]
        if finite.numel() and (float(finite.min()) < 0.0 or float(finite.max()) > 255.0):
            lo, hi = float(finite.min()) / 255.0, float(finite.max()) / 255.0
            hint = ""
            if lo >= -1.0 and hi <= 1.0:
                hint = " (looks like a tanh output in [-1, 1]: pass samples_range=-1,1)"
            elif value_range is None and lo >= 0.0 and hi <= 255.0:
                hint = " (looks like outputs in [0, 255]: pass samples_range=0,255)"
            raise DataError(f"generator {source}: outputs in [{lo:.4g}, {hi:.4g}]; expected G(z) in [0, 1]{hint}")
        yield batch


def _bad_image(f: Path, exc: Exception, resolution: int) -> DataError:
    return DataError(f"sample image '{f}' cannot be read as an image ({type(exc).__name__}: truncated, corrupt "
                     f"or not a PNG); expected an RGB (or grayscale) {resolution}x{resolution} PNG")


def _open_image(f: Path, resolution: int) -> Image.Image:
    """``f`` opened (header read) and checked for mode and size; DataError naming the file otherwise."""
    try:
        im = Image.open(f)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _bad_image(f, exc, resolution) from None
    if im.mode not in ("RGB", "L") or im.size != (resolution, resolution):
        im.close()
        raise DataError(f"sample image '{f}': mode {im.mode}, size {im.size}; expected an RGB "
                        f"(or grayscale) {resolution}x{resolution} image")
    return im


def folder_files(folder: Path, n: int, resolution: int) -> list[Path]:
    """The folder's ``n`` PNG files, sorted by name, each checked (format, mode, size, and its chunks'
    checksums, which catch a truncated file) before any is decoded; DataError naming the folder or the
    first bad file."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) != n:
        raise DataError(f"samples folder '{folder}': {len(files)} .png images; the protocol needs exactly {n}")
    for f in files:
        with _open_image(f, resolution) as im:
            try:
                im.verify()  # PNG chunks and their CRCs, without decoding: a truncated file is caught here
            except (OSError, ValueError, SyntaxError) as exc:
                raise _bad_image(f, exc, resolution) from None
    return files


def folder_batches(files: list[Path], resolution: int, batch: int) -> Iterator[torch.Tensor]:
    """float32 [b, 3, R, R] batches of PNG files; DataError naming a file of the wrong size/mode or one
    whose pixel data is truncated or corrupt."""
    for start in range(0, len(files), batch):
        arrays = []
        for f in files[start : start + batch]:
            with _open_image(f, resolution) as im:
                try:
                    arrays.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
                except (OSError, ValueError, SyntaxError) as exc:  # PIL: truncated or corrupt pixel data
                    raise _bad_image(f, exc, resolution) from None
        yield torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()


def sample_batches(path: Path, n: int, resolution: int, batch: int,
                   value_range: tuple[float, float] | None = None) -> Iterator[torch.Tensor]:
    """Validate ``path`` (array file or PNG folder) up front, then stream its batches in [0, 255]."""
    path = Path(path)
    if path.is_dir():
        files = folder_files(path, n, resolution)
        return folder_batches(files, resolution, batch)
    if not path.is_file():
        raise DataError(f"samples '{path}': no such file or folder; expected a .npz/.npy file or a PNG folder")
    if path.suffix not in (".npz", ".npy"):
        raise DataError(f"samples '{path}': unknown kind '{path.suffix}'{kind_hint(path)}; expected .npz, .npy, "
                        f"a PNG folder, or a generator checkpoint ({GENERATOR_SUFFIXES})")
    arr = _open_array(path)
    layout = check_array(arr, n, resolution, f"'{path}'", value_range)
    return array_batches(arr, layout, batch, value_range)
