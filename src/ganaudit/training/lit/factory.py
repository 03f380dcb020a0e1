"""Build a run's Lightning loggers and callbacks from the ``logger`` and ``callbacks`` config groups
with ``hydra.utils.instantiate`` (``conf/logger/*.yaml``, ``conf/callbacks/*.yaml``).

Each group is a mapping ``name -> {_target_: ..., ...}``. Arguments known only at run time are given
at build time: a logger gets ``save_dir=<run_dir>``; a callback gets ``runtime[name]`` (a dict of
keyword arguments, or None to leave that callback out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from hydra.utils import instantiate
from omegaconf import DictConfig

__all__ = ["build_loggers", "build_callbacks"]


def _entries(node: Any) -> list[tuple[str, Any]]:
    """(name, config) pairs of a group node that have a ``_target_`` (others are skipped)."""
    if node is None:
        return []
    return [(str(k), v) for k, v in node.items() if isinstance(v, (DictConfig, dict)) and "_target_" in v]


def build_loggers(cfg: DictConfig, run_dir: Path) -> list:
    """The loggers of ``cfg.logger`` (empty for ``logger=none``), each writing under ``run_dir``."""
    return [instantiate(node, save_dir=str(run_dir)) for _, node in _entries(cfg.logger)]


def build_callbacks(cfg: DictConfig, runtime: Mapping[str, dict | None]) -> list:
    """The callbacks of ``cfg.callbacks`` in config order; ``runtime[name]`` adds keyword arguments,
    and a name mapped to None is left out."""
    out = []
    for name, sub in _entries(cfg.callbacks):
        if name in runtime and runtime[name] is None:
            continue
        out.append(instantiate(sub, **(runtime.get(name) or {})))
    return out
