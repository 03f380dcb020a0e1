"""GPU arithmetic of a training run: ``trainer.precision`` (part of the config hash).

The study trained and evaluated in plain float32 on GPUs without TF32. PyTorch, by default, lets
cuDNN convolutions use TF32 (10-bit mantissa products), which changes results. So:

==============  ===============================================  =====================================
value           CUDA matmuls / cuDNN convolutions                Lightning ``precision``
==============  ===============================================  =====================================
``32-true``     exact float32: TF32 off for both, matmul         ``32-true`` (the default; the study)
                precision ``highest``
``tf32``        TF32 allowed for both, matmul precision ``high``  ``32-true`` (opt-in speed mode)
``bf16-mixed``  refused (ConfigError), see :data:`BF16_REFUSAL`  --
==============  ===============================================  =====================================

Lightning's own ``precision`` is always ``32-true`` (``conf/lightning/default.yaml``); the flags are
what differs, set around ``trainer.fit`` by :func:`training_precision`.

On the CPU the flags change nothing (they are still set and recorded). Evaluation always runs in
exact float32 whatever the training mode (``ganaudit.metrics.features.exact_float32``).

    with training_precision("32-true") as settings:   # flags set, restored on exit
        trainer.fit(...)                               # settings -> result.json "numerics"
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from ganaudit.utils.errors import ConfigError

__all__ = ["PRECISIONS", "BF16_REFUSAL", "check_precision", "precision_settings",
           "training_precision"]

# value -> allow TF32 on CUDA (matmul and cuDNN)
PRECISIONS: dict[str, bool] = {"32-true": False, "32": False, "tf32": True}

BF16_REFUSAL = (
    "bf16-mixed is not supported: the G step calls its optimizer directly (so that global_step counts "
    "D steps) and the gradient penalties differentiate through D twice, and neither path has been "
    "checked under bfloat16 autocast; use '32-true' (exact float32, the study) or 'tf32' (faster on GPUs)"
)


def check_precision(value: str) -> None:
    """ConfigError unless ``value`` is a supported ``trainer.precision``."""
    if value == "bf16-mixed":
        raise ConfigError(f"option 'trainer.precision' = 'bf16-mixed': {BF16_REFUSAL}")
    if value not in PRECISIONS:
        raise ConfigError(f"option 'trainer.precision' = {value!r}: expected '32-true' (exact float32, "
                          "TF32 off: the study) or 'tf32' (TF32 matmuls and convolutions on CUDA)")


def precision_settings() -> dict:
    """The process's current float32 GPU arithmetic flags (recorded with each run)."""
    return {
        "cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }


def _set(matmul_tf32: bool, cudnn_tf32: bool, matmul_precision: str) -> None:
    torch.backends.cuda.matmul.allow_tf32 = matmul_tf32
    torch.backends.cudnn.allow_tf32 = cudnn_tf32
    torch.set_float32_matmul_precision(matmul_precision)  # last: the matmul flag above also sets it


@contextlib.contextmanager
def training_precision(value: str) -> Iterator[dict]:
    """Set the flags of ``trainer.precision`` = ``value`` for the block; yields
    ``{"precision": value, **precision_settings()}``; the previous flags are restored on exit."""
    check_precision(value)
    before = precision_settings()
    tf32 = PRECISIONS[value]
    _set(tf32, tf32, "high" if tf32 else "highest")
    try:
        yield {"precision": value, **precision_settings()}
    finally:
        _set(before["cuda_matmul_allow_tf32"], before["cudnn_allow_tf32"], before["float32_matmul_precision"])
