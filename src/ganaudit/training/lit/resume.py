"""Which checkpoint a run resumes from: the newest intact one, and only if it is this run's.

A checkpoint's ``checkpoint["ganaudit"]`` carries the ``config_hash`` and ``seed`` of the run that
wrote it (see :class:`ganaudit.training.lit.gan_module.GANModule`). Resuming under another configuration or
seed is refused (a different run with the same tensor shapes would otherwise continue silently).
A truncated or corrupt ``last.ckpt`` (a kill during a save on a file system without atomic rename,
a copy cut short) falls back to the newest intact numbered ``dstep-*.ckpt``, and says so. A checkpoint
that loads only by full unpickling is refused, not skipped: ganaudit's own checkpoints load with
``weights_only=True``, so such a file was put there by someone else, and unpickling it could run any code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from ganaudit.metrics.checkpoints import needs_unpickling
from ganaudit.utils.confighash import verify_embedded
from ganaudit.utils.errors import CheckpointError

__all__ = ["load_checkpoint", "check_identity", "resume_checkpoint"]

log = logging.getLogger("ganaudit.training.train")


def load_checkpoint(path: Path) -> dict | None:
    """The checkpoint dict (``weights_only=True``, CPU) or None when it cannot be read (truncated,
    corrupt); CheckpointError for a file that loads only by full unpickling (nothing of it runs)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if needs_unpickling(exc):
            raise CheckpointError(
                f"checkpoint '{path}' loads only by full unpickling, which ganaudit's own checkpoints never "
                "need, and a pickle can run arbitrary code: it was not written by this run. Refusing to "
                "resume from it (training has no trust_pickle option): move it out of the run directory to "
                "resume from the newest numbered checkpoint") from None
        return None
    return ckpt if isinstance(ckpt, dict) else None


def check_identity(ckpt: dict[str, Any], path: Path, config_hash: str, seed: int) -> None:
    """CheckpointError naming both identities when ``ckpt`` was written by another config or seed.

    Checkpoints written before identities were saved (no ``config_hash`` key) are accepted. A stored hash
    that is not the hash of the config stored beside it (an edited file) is refused."""
    extra = ckpt.get("ganaudit") or {}
    verify_embedded(extra, str(path))
    got_hash, got_seed = extra.get("config_hash"), extra.get("seed")
    if got_hash is None and got_seed is None:
        return
    if got_hash != config_hash or (got_seed is not None and int(got_seed) != int(seed)):
        raise CheckpointError(
            f"checkpoint '{path}' was written by config {got_hash} seed {got_seed}; this run is config "
            f"{config_hash} seed {seed}. Refusing to continue another run's weights: resume it with its own "
            f"configuration, or move the checkpoint away to start this run from scratch")


def _candidates(ckpt_dir: Path) -> list[Path]:
    """``last.ckpt`` first, then the numbered checkpoints, newest (highest D step) first."""
    numbered = sorted(ckpt_dir.glob("dstep-*.ckpt"), key=lambda p: p.name, reverse=True)
    last = ckpt_dir / "last.ckpt"
    return ([last] if last.is_file() else []) + numbered


def resume_checkpoint(ckpt_dir: str | Path, config_hash: str, seed: int) -> Path | None:
    """The checkpoint to resume from, or None when ``ckpt_dir`` holds none (a fresh start).

    Unreadable checkpoints are skipped with a warning naming them and the one used; CheckpointError
    if none is readable or the newest readable one belongs to another run.
    """
    ckpt_dir = Path(ckpt_dir)
    candidates = _candidates(ckpt_dir) if ckpt_dir.is_dir() else []
    skipped: list[str] = []
    for path in candidates:
        ckpt = load_checkpoint(path)
        if ckpt is None:
            skipped.append(path.name)
            continue
        check_identity(ckpt, path, config_hash, seed)
        if skipped:
            step = (ckpt.get("ganaudit") or {}).get("d_step")
            log.warning("checkpoint(s) %s in %s cannot be read (truncated or corrupt); resuming from the newest "
                        "intact one, %s (D step %s)", ", ".join(skipped), ckpt_dir, path.name, step)
        return path
    if skipped:
        raise CheckpointError(
            f"no readable checkpoint in '{ckpt_dir}' ({', '.join(skipped)} are truncated or corrupt); "
            f"expected at least one intact checkpoint to resume from: delete '{ckpt_dir}' to train from scratch")
    return None
