"""The identity of a training configuration, computed from its resolved config as plain data.

    config_hash_of(plain)     # '4e08dba5c9f53d36': sha256 (first 16 hex) of the canonical JSON of ...
    semantic_part(plain)      # ... the part of the config that determines the trained weights
    verify_embedded(extra, where)   # CheckpointError unless a checkpoint's stored hash is its config's

Training (``ganaudit.training.config.config_hash``), checkpoint readers (evaluation, the verdict) and
resuming all use these functions, so a hash stored in a checkpoint can be recomputed from the config
stored beside it on every read: an edited config or an edited hash is refused, never trusted.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Mapping

from ganaudit.utils.errors import CheckpointError

__all__ = ["UNHASHED_KEYS", "semantic_part", "config_hash_of", "verify_embedded"]

# Keys that do not change what is trained (where files go, how progress is shown, how often the
# state is saved, how many loader workers feed the same batch stream, which loggers and callbacks
# watch the run, how Lightning's objects are built from the config). Excluded from the hash.
UNHASHED_KEYS: tuple[str, ...] = (
    "paths",
    "meta",
    "seed",
    "hydra",
    "trainer.checkpoint_every",
    "trainer.num_workers",
    "trainer.cpu_threads",
    "trainer.progress_bar",
    "trainer.log_every",
    "trainer.resume",
    "trainer.stop_at",
    "trainer.keep",
    "trainer.accelerator",
    "trainer.devices",
    "dataset.data_dir",
    "eval.artifacts_dir",
    "eval.record_path",
    "logger",
    "callbacks",
    "lightning",
)


def semantic_part(plain: Mapping[str, Any]) -> dict:
    """A copy of the resolved config ``plain`` without UNHASHED_KEYS, without ``penalty.weight`` when
    ``penalty.name == 'none'`` (lambda is ignored then, spec §2.4: the 24 Table-1 settings give 12
    distinct unpenalized trainings), and without ``arch.conv_kernels`` when it is ``aten`` (the default:
    the configs from before the option keep their hashes)."""
    out = copy.deepcopy(dict(plain))
    for key in UNHASHED_KEYS:
        *parents, leaf = key.split(".")
        node: Any = out
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    penalty = out.get("penalty")
    if isinstance(penalty, dict) and penalty.get("name") == "none":
        penalty.pop("weight", None)
    arch = out.get("arch")
    if isinstance(arch, dict) and arch.get("conv_kernels") == "aten":
        arch.pop("conv_kernels")  # the default, PyTorch's kernels: the hash of every run before the option
    return out


def config_hash_of(plain: Mapping[str, Any]) -> str:
    """sha256 (first 16 hex) of the canonical JSON of :func:`semantic_part` of a resolved config."""
    blob = json.dumps(semantic_part(plain), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def verify_embedded(extra: Mapping[str, Any], where: str) -> None:
    """CheckpointError unless the ``config_hash`` stored in a checkpoint's ``ganaudit`` entry (``extra``)
    is the hash of the resolved ``config`` stored beside it. Checkpoints that carry no config are not
    checked here (their readers need a config from elsewhere)."""
    config, stored = extra.get("config"), extra.get("config_hash")
    if config is None:
        return
    if not isinstance(config, Mapping):
        raise CheckpointError(f"checkpoint '{where}': its embedded config is a {type(config).__name__}; expected "
                              "the resolved config mapping that ganaudit's training stores")
    actual = config_hash_of(config)
    if stored != actual:
        raise CheckpointError(
            f"checkpoint '{where}': its stored config hash {stored} is not the hash of its embedded config "
            f"({actual}); the file was edited after training, expected an unmodified ganaudit checkpoint")
