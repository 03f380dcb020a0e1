"""Pinned feature-extractor weights: where a file lives, its pinned digest, how it is loaded.

    spec = WeightsSpec("digits_cnn", "digits_cnn.pt", sha256, None, "dvc repro weights@digits")
    verify_weights(weights_dir / spec.filename, spec)    # its sha256, or WeightsError naming the fix
    load_into(module, load_state(path), path)             # strict, tensors only (no code unpickled)
    with exact_float32(): features = net(images)          # no TF32 on CUDA

Each extractor module (``inception``, ``digits_cnn``) builds on these; the registry of extractors is
``ganaudit.metrics.features``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from ganaudit.utils.errors import WeightsError
from ganaudit.utils.hashing import sha256_file

__all__ = ["WeightsSpec", "exact_float32", "verify_weights", "load_state", "load_into"]


@dataclass(frozen=True)
class WeightsSpec:
    """A pinned weights file: where it lives under the weights dir and how to get it."""

    name: str
    filename: str
    sha256: str | None  # full digest, when known
    sha256_prefix: str | None  # at least this prefix must match
    how_to_get: str  # the DVC stage / command (and URL) that produces the file


@contextlib.contextmanager
def exact_float32() -> Iterator[None]:
    """Full float32 convolutions and matmuls on CUDA (no TF32), so GPU features match CPU ones to
    float32 round-off; cuDNN autotuning off. No effect on CPU."""
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


def verify_weights(path: Path, spec: WeightsSpec, expected: str | None = None) -> str:
    """The file's sha256 after checking it against the pins; WeightsError if missing or different.

    ``expected`` (e.g. a stage-written sidecar) is checked in addition to the spec's pins.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"{spec.name} weights not found at '{path}'; expected the file {spec.filename}. "
            f"Get it with: {spec.how_to_get}"
        )
    digest = sha256_file(path)
    pins = [(spec.sha256, "pinned sha256"), (expected, "sha256 recorded beside the file")]
    for pin, what in pins:
        if pin is not None and digest != pin:
            raise WeightsError(
                f"{spec.name} weights '{path}' have sha256 {digest}; expected the {what} {pin}. "
                f"The file is corrupt or not the pinned one; re-create it with: {spec.how_to_get}"
            )
    if spec.sha256_prefix is not None and not digest.startswith(spec.sha256_prefix):
        raise WeightsError(
            f"{spec.name} weights '{path}' have sha256 {digest}; expected one starting with "
            f"{spec.sha256_prefix} (the published file). Re-fetch it with: {spec.how_to_get}"
        )
    return digest


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from ``path`` (tensors only; no code is unpickled)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt file that still matches no pin never reaches here
        raise WeightsError(f"cannot read weights file '{path}': {exc}") from exc


def load_into(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """``module.load_state_dict(state, strict=True)`` with a WeightsError naming the file on mismatch."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"weights file '{path}' does not fit {type(module).__name__}: {exc}") from exc
