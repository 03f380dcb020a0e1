"""Refuse configuration keys that nothing reads (``+trainer.stepz=5`` would otherwise be ignored).

The known keys are every key path written in the conf directory: ``config.yaml`` and each option
file of each group (under the group's package, or the root for ``# @package _global_`` files such as
experiments). A key whose value there is an empty mapping (``meta: {}``) is free-form below it.

    check_known_keys(cfg)   # ConfigError naming the unknown key and the known keys nearest to it
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any, Iterator

import yaml
from omegaconf import DictConfig, OmegaConf

from ganaudit.utils.errors import ConfigError

__all__ = ["known_keys", "check_known_keys"]

SKIPPED_GROUPS = ("hydra",)
# Groups whose entries are objects built with hydra.utils.instantiate: a user may add any entry
# (``+callbacks.lr_monitor._target_=...``) or none (``logger=none``), so keys below them are free-form.
INSTANTIATED_GROUPS = ("logger", "callbacks")


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, bool]]:
    """(dotted path, free-form?) of each leaf of a parsed YAML mapping; lists are leaves."""
    for key, value in node.items():
        if key == "defaults" and not prefix:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaves(value, path + ".")
        else:
            yield path, isinstance(value, dict)


def _package(path: Path, group: str) -> str:
    """The dotted package a group option file writes to: its ``@package`` header or the group path."""
    for line in path.read_text().splitlines()[:5]:
        if line.startswith("# @package"):
            pkg = line.split("@package", 1)[1].strip()
            return "" if pkg == "_global_" else pkg
    return group.replace("/", ".")


@functools.lru_cache(maxsize=4)
def known_keys(conf: str) -> tuple[frozenset[str], frozenset[str]]:
    """(leaf key paths, free-form key paths) written anywhere in the conf directory ``conf``."""
    root = Path(conf)
    leaves: set[str] = set()
    free: set[str] = set()
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root)
        if rel.parts[0] in SKIPPED_GROUPS or rel.name == "run_study.yaml" or rel.parent.name == "study":
            continue
        pkg = "" if rel.parent == Path(".") else _package(path, rel.parent.as_posix())
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            continue
        for key, is_free in _leaves(data, f"{pkg}." if pkg else ""):
            leaves.add(key)
            if is_free:
                free.add(key)
    return frozenset(leaves), frozenset(free | set(INSTANTIATED_GROUPS))


def _cfg_leaves(cfg: DictConfig) -> Iterator[str]:
    plain = OmegaConf.to_container(cfg, resolve=False)
    plain.pop("hydra", None)
    for path, _ in _leaves(plain, ""):
        yield path


def check_known_keys(cfg: DictConfig, conf: str | Path) -> None:
    """ConfigError for the first key of ``cfg`` that no file of ``conf`` knows."""
    leaves, free = known_keys(str(conf))
    for path in _cfg_leaves(cfg):
        parts = path.split(".")
        if path in leaves or any(".".join(parts[:i]) in free for i in range(1, len(parts) + 1)):
            continue
        near = difflib.get_close_matches(path, sorted(leaves), n=5, cutoff=0.6) or \
            sorted(k for k in leaves if k.startswith(parts[0] + "."))[:8] or \
            sorted({k.split(".")[0] for k in leaves})
        raise ConfigError(f"unknown option '{path}': no part of ganaudit reads it (added with '+{path}=...'?); "
                          f"known options nearby: {', '.join(near) or '(none)'}")
