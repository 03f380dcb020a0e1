"""Input coercion shared by the metric functions: numpy arrays or tensors in, float64 numpy out."""

from __future__ import annotations

from typing import Any

import numpy as np

from ganaudit.utils.errors import DataError


def as_float64(x: Any, name: str, ndim: int) -> np.ndarray:
    """``x`` (numpy array or torch tensor, any real dtype) as a float64 ndarray with ``ndim`` dims.

    DataError naming ``name`` when the rank is wrong, the array is empty or holds NaN/inf.
    """
    if hasattr(x, "detach"):  # torch tensor, possibly on an accelerator
        x = x.detach().cpu().double().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != ndim:
        raise DataError(f"{name}: expected a {ndim}-d array, got shape {tuple(arr.shape)}")
    if arr.shape[0] == 0:
        raise DataError(f"{name}: expected at least one row, got shape {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise DataError(f"{name}: holds NaN or inf values; expected finite numbers")
    return arr
