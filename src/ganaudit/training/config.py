"""Compose, validate and hash ganaudit's Hydra configuration (the ``conf/`` directory).

    cfg = compose(["loss=ls", "penalty=wgan_gp", "penalty.weight=10", "seed=3"])
    validate(cfg)            # ConfigError naming the option and its allowed values, before any training
    config_hash(cfg)         # '3f2a...' (16 hex): identity of the *training* (no paths, seed, UI flags)
    run_dir(cfg)             # <paths.runs>/<config_hash>-s<seed>

The conf directory is ``$GANAUDIT_CONF`` if set, else the ``conf/`` package data inside ``ganaudit`` (it
ships in the wheel, so a plain ``pip install .`` composes from any directory).
Units: ``trainer.d_steps``, ``trainer.checkpoint_every``, ``eval.every`` and ``trainer.stop_at`` count
D steps (one D Adam update each; spec §5.1).
"""

from __future__ import annotations

import difflib
import importlib
import math
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from ganaudit.training.schema import PRIMARY_SCHEMAS, schema_paths, unknown_keys
from ganaudit.utils.conf import conf_dir
from ganaudit.utils.confighash import UNHASHED_KEYS, config_hash_of, semantic_part
from ganaudit.utils.determinism import check_mode
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.overrides import override_dict, parse_override

__all__ = [
    "AXIS_GROUPS",
    "UNHASHED_KEYS",
    "conf_dir",
    "compose",
    "validate",
    "check_ranges",
    "semantic_config",
    "config_hash",
    "run_dir",
    "to_plain",
    "register_resolvers",
]

# Hydra group -> (registry module, registry attribute); the group's option names are the registry names.
AXIS_GROUPS: dict[str, tuple[str, str]] = {
    "loss": ("ganaudit.axes.losses", "LOSSES"),
    "penalty": ("ganaudit.axes.penalties", "PENALTIES"),
    "norm": ("ganaudit.axes.norms", "NORMS"),
    "arch": ("ganaudit.axes.archs", "ARCHS"),
    "dataset": ("ganaudit.data", "DATASETS"),
}



def _group_options(group: str) -> list[str]:
    """Option names of a config group, read from ``conf/<group>/*.yaml``."""
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def compose(overrides: Iterable[str] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra overrides (``["loss=ls", "seed=3"]``).

    Works inside a running Hydra app too: the global Hydra state is saved and restored. An unknown
    group option, a key the schema lacks (:mod:`ganaudit.training.schema`), a value of the wrong type or
    a malformed override raises ConfigError naming the option and the allowed values or nearest keys.
    Interpolations (e.g. ``arch.resolution: ${dataset.resolution}``) are left unresolved.
    """
    overrides = [str(o) for o in overrides]
    path = conf_dir()
    backup = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(path), version_base="1.3"):
            cfg = hydra_compose(config_name=config_name, overrides=overrides)
    except MissingConfigException as exc:
        raise _unknown_option_error(overrides, exc) from None
    except HydraException as exc:
        raise _schema_error(exc, config_name, path, overrides) or \
            ConfigError(f"invalid overrides {overrides} for conf '{path}': {exc}") from None
    except yaml.YAMLError as exc:  # a config file that is not YAML
        mark = getattr(exc, "problem_mark", None)
        where = f"'{mark.name}' line {mark.line + 1}" if mark else f"a file under '{path}'"
        raise ConfigError(f"config file {where} is not valid YAML ({getattr(exc, 'problem', None) or exc}); "
                          "expected a YAML mapping") from None
    finally:
        restore_gh_from_backup(backup)
    unknown = unknown_keys(cfg)  # added with '+': Hydra accepts those even where a schema has no such key
    if unknown:
        raise unknown_key_error(unknown[0], config_name, overrides)
    return cfg


TYPE_WORDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}


def _schema_error(exc: Exception, config_name: str, conf: Path | None = None,
                  overrides: Iterable[str] | None = None) -> ConfigError | None:
    """ConfigError for Hydra's refusal of a key the schema lacks or of a value of the wrong type; a
    whole config file of the wrong shape (e.g. a list where a mapping belongs) is named by its path."""
    cause = exc.__cause__
    key = getattr(cause, "full_key", None)
    where = re.search(r"In '([^']+)'", str(exc))
    shape = re.search(r"Invalid type assigned: (\w+) is not a subclass of Dict", str(exc))
    if not key and where and shape and conf is not None:
        return ConfigError(f"config file '{conf / where.group(1)}.yaml' holds a {shape.group(1)} where the "
                           "schema expects a mapping of options; expected a YAML mapping (key: value lines)")
    if not key:
        return None
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        return unknown_key_error(key, config_name, overrides)
    if isinstance(cause, ValidationError):
        msg = str(getattr(cause, "msg", cause)).splitlines()[0]
        kind = msg.rsplit(" to ", 1)[-1].strip(" .") if " converted to " in msg else \
            "Boolean" if "valid bool" in msg else ""
        expected = TYPE_WORDS.get(kind, msg)
        return ConfigError(f"option '{key}' = {getattr(cause, 'value', None)!r}: expected {expected}")
    return None


def unknown_key_error(key: str, config_name: str = "config", overrides: Iterable[str] | None = None) -> ConfigError:
    """ConfigError for a key the schema of ``config_name`` lacks, naming the nearest known keys and how
    the user wrote it (``overrides``: the command's overrides; None: the running Hydra app's, if any)."""
    known = sorted(set(schema_paths(PRIMARY_SCHEMAS[f"base_{config_name}"])) - {key})  # - {key}: another option's
    head = key.split(".")[0]
    near = difflib.get_close_matches(key, known, n=5, cutoff=0.6) or \
        [k for k in known if k.startswith(head + ".")][:8] or sorted({k.split(".")[0] for k in known})
    typed = _typed_as(key, overrides)
    how = "" if typed is None else \
        f" (added with '{typed}=...')" if typed.startswith("+") else \
        f" (set with '{typed}=...'; a '+' would not make it read)"
    return ConfigError(f"unknown option '{key}': no part of ganaudit reads it{how}; "
                       f"known options nearby: {', '.join(near)}")


def _typed_as(key: str, overrides: Iterable[str] | None) -> str | None:
    """The left side of the last override that sets ``key`` as the user wrote it (``+protocl``,
    ``trainer.d_stepz``), or None when no override names it (e.g. a key from a config file)."""
    if overrides is None:
        overrides = HydraConfig.get().overrides.task if HydraConfig.initialized() else ()
    for text in reversed([str(o) for o in overrides]):
        try:
            ov = parse_override(text)
        except ConfigError:
            continue
        if ov.key_or_group == key and not ov.is_delete():
            return text.split("=", 1)[0].strip()
    return None


def _unknown_option_error(overrides: list[str], exc: Exception) -> ConfigError:
    """ConfigError for ``group=name`` where conf/<group>/name.yaml does not exist."""
    for group, value in override_dict(overrides, as_text=True).items():
        if (conf_dir() / group).is_dir() and value and not (conf_dir() / group / f"{value}.yaml").is_file():
            return ConfigError(
                f"unknown {group} '{value}'; allowed values for option '{group}': "
                f"{', '.join(_group_options(group))}"
            )
    return ConfigError(f"cannot compose config with overrides {overrides}: {exc}")


# ----------------------------------------------------------------------------------------- validate
def _get(cfg: DictConfig, key: str) -> Any:
    """``cfg`` value at dotted ``key`` (interpolations resolved); ConfigError if it cannot be read."""
    try:
        return OmegaConf.select(cfg, key, throw_on_missing=True)
    except Exception as exc:  # interpolation to a missing key, a mandatory value left unset, ...
        raise ConfigError(f"option '{key}' cannot be resolved: {exc}") from None


def _registry(group: str):
    module, attr = AXIS_GROUPS[group]
    return getattr(importlib.import_module(module), attr)


def _adam_impls() -> str:
    # deferred: ganaudit.axes.optim imports torch; composing and checking a config stays torch-free
    from ganaudit.axes.optim import ADAM_IMPLS

    return ", ".join(ADAM_IMPLS.names())


# (option, holds for a valid value, what is expected): what the schema's types cannot say.
RANGES: tuple[tuple[str, Any, str], ...] = (
    ("penalty.weight", lambda v: v >= 0, "a penalty weight lambda >= 0 (study grid: 1, 10)"),
    ("optim.lr", lambda v: v > 0, "a learning rate > 0 (study grid: 0.0001, 0.0002, 0.001)"),
    ("optim.beta1", lambda v: 0 <= v < 1, "an Adam beta in [0, 1)"),
    ("optim.beta2", lambda v: 0 <= v < 1, "an Adam beta in [0, 1)"),
    ("optim.eps", lambda v: v > 0, "an Adam epsilon > 0 (study: 1e-8)"),
    ("optim.n_dis", lambda v: v >= 1, "an integer >= 1 (D steps per G step; study: 1 or 5)"),
    ("trainer.d_steps", lambda v: v >= 1, "an integer >= 1"),
    ("trainer.checkpoint_every", lambda v: v >= 1, "an integer >= 1"),
    ("arch.z_dim", lambda v: v >= 1, "an integer >= 1"),
    ("trainer.batch_size", lambda v: v >= 2, "an integer >= 2 (G's batch norm needs 2 samples; study: 64)"),
    ("arch.width", lambda v: v > 0, "a channel multiplier > 0 (1.0 = the study)"),
    ("seed", lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)"),
    ("data_seed", lambda v: 0 <= v < 2**32, "an integer in [0, 2**32) (study: 547; or ${seed})"),
    ("trainer.num_workers", lambda v: v >= 0, "an integer >= 0"),
    ("trainer.cpu_threads", lambda v: v is None or v >= 1, "null or an integer >= 1"),
    ("trainer.stop_at", lambda v: v is None or v >= 1, "null or an integer >= 1 (a D step)"),
    ("eval.every", lambda v: v >= 1, "an integer >= 1 (D steps between evaluations)"),
)


def check_ranges(cfg: DictConfig) -> None:
    """ConfigError for the first value outside its range: RANGES, the Adam implementation, the precision,
    the resolution (the dataset's, and one the architecture supports with this D norm), and what
    ``determinism=portable`` requires of the trainer."""
    for key, holds, expected in RANGES:
        value = _get(cfg, key)
        if (isinstance(value, float) and not math.isfinite(value)) or not holds(value):
            raise ConfigError(f"option '{key}' = {value!r}: expected {expected}")
    impl = _get(cfg, "optim.impl")
    if impl not in _adam_impls().split(", "):
        raise ConfigError(f"option 'optim.impl' = {impl!r}: expected one of {_adam_impls()} (tf1: the study's Adam)")
    # deferred: ganaudit.training.precision imports torch; composing and checking a config stays torch-free
    from ganaudit.training.precision import check_precision

    check_precision(str(_get(cfg, "trainer.precision")))  # 32-true (exact float32) | tf32
    res, data_res = _get(cfg, "arch.resolution"), _get(cfg, "dataset.resolution")
    if res != data_res:
        raise ConfigError(f"option 'arch.resolution' = {res!r}: expected the resolution of dataset "
                          f"'{_get(cfg, 'dataset.name')}' ({data_res})")
    _registry("arch").get(_get(cfg, "arch.name")).check(res, _get(cfg, "norm.name"))  # e.g. sndcgan + batch norm
    kernels, accelerator = _get(cfg, "arch.conv_kernels"), _get(cfg, "trainer.accelerator")
    if kernels not in ("aten", "fixed_order"):
        raise ConfigError(f"option 'arch.conv_kernels' = {kernels!r}: expected one of aten, fixed_order")
    if kernels == "fixed_order" and accelerator == "gpu":
        raise ConfigError("option 'arch.conv_kernels' = 'fixed_order' with trainer.accelerator=gpu: expected "
                          "aten (the fixed-order kernels run on the CPU only)")
    if check_mode(str(_get(cfg, "determinism"))) == "portable":  # one intra-op thread, deterministic kernels
        if not _get(cfg, "trainer.deterministic"):
            raise ConfigError("option 'trainer.deterministic' = False with determinism=portable: expected true")
        threads = _get(cfg, "trainer.cpu_threads")
        if threads is not None and threads != 1:
            raise ConfigError(f"option 'trainer.cpu_threads' = {threads} with determinism=portable: expected null "
                              "or 1 (portable runs use one intra-op thread; determinism=fast allows more)")


def _check_names(cfg: DictConfig) -> None:
    """Each axis name is a registered option (the group's option files are the registry's names)."""
    for group in AXIS_GROUPS:
        name = _get(cfg, f"{group}.name")
        registry = _registry(group)
        if name not in registry:
            raise ConfigError(
                f"unknown {group} '{name}'; allowed values for option '{group}': {', '.join(registry.names())}"
            )


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError for the first invalid option, naming it and the allowed values.

    Types, and keys overridden without ``+``, were checked by Hydra against the schema while composing
    (:mod:`ganaudit.training.schema`). Checked here: no key added with ``+`` that the schema lacks
    (``+trainer.stepz=5``); registered names (loss, penalty, norm, arch, dataset); the ranges of
    :func:`check_ranges`.
    """
    unknown = unknown_keys(cfg)
    if unknown:
        raise unknown_key_error(unknown[0], "config")
    _check_names(cfg)
    check_ranges(cfg)


# ------------------------------------------------------------------------------------------- hashing
def to_plain(cfg: DictConfig) -> dict:
    """The resolved config as plain python containers (JSON-serializable)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def semantic_config(cfg: DictConfig) -> dict:
    """The part of the resolved config that determines the trained weights
    (:func:`ganaudit.utils.confighash.semantic_part`)."""
    return semantic_part(to_plain(cfg))


def config_hash(cfg: DictConfig) -> str:
    """sha256 (first 16 hex) of the canonical JSON of :func:`semantic_config`
    (:func:`ganaudit.utils.confighash.config_hash_of` of the resolved config)."""
    return config_hash_of(to_plain(cfg))


def run_dir(cfg: DictConfig) -> Path:
    """``<paths.runs>/<config_hash>-s<seed>``: where a run keeps checkpoints, records and result.json."""
    return Path(str(_get(cfg, "paths.runs"))) / f"{config_hash(cfg)}-s{int(_get(cfg, 'seed'))}"


RUN_DIR_RESOLVER = "ganaudit.run_dir"
# added to the refusal of a training whose run directory another process holds (ganaudit.utils.locks)
RUN_LOCK_HINT = " (rerunning the same command after it ends resumes or returns the run)"
STOP_STEP_RESOLVER = "ganaudit.stop_step"


def _run_dir_of_root(*, _root_: DictConfig) -> str:
    """:func:`run_dir` of the whole configuration the resolver sits in (its ``hydra`` node left out)."""
    body = OmegaConf.masked_copy(_root_, [k for k in _root_ if k != "hydra"])
    return str(run_dir(body))


def _stop_step(d_steps: int, stop_at: int | None) -> int:
    """The D step this invocation stops at: ``d_steps``, or ``stop_at`` if set and earlier."""
    return int(d_steps) if stop_at is None else min(int(stop_at), int(d_steps))


def register_resolvers() -> None:
    """Register ``${ganaudit.run_dir:}`` (= ``<paths.runs>/<config_hash>-s<seed>``), which
    ``conf/config.yaml`` uses as ``hydra.run.dir`` so that Hydra's ``.hydra/`` and log sit in the
    run directory beside ``checkpoints/``, and ``${ganaudit.stop_step:d_steps,stop_at}`` (the
    Trainer's ``max_steps`` in ``conf/lightning/default.yaml``). Idempotent; done on import."""
    if not OmegaConf.has_resolver(RUN_DIR_RESOLVER):
        OmegaConf.register_new_resolver(RUN_DIR_RESOLVER, _run_dir_of_root)
    if not OmegaConf.has_resolver(STOP_STEP_RESOLVER):
        OmegaConf.register_new_resolver(STOP_STEP_RESOLVER, _stop_step)


register_resolvers()
