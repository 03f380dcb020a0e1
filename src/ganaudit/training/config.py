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

import hashlib
import importlib.util
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

import yaml
from omegaconf import DictConfig, OmegaConf

from ganaudit.utils.errors import ConfigError

__all__ = [
    "AXIS_GROUPS",
    "UNHASHED_KEYS",
    "conf_dir",
    "compose",
    "validate",
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

# Keys that do not change what is trained (where files go, how progress is shown, how often the
# state is saved, how many loader workers feed the same batch stream, which loggers and callbacks
# watch the run). Excluded from config_hash.
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
)


PACKAGE_CONF = Path(importlib.util.find_spec("ganaudit.conf").submodule_search_locations[0])  # conf/, shipped


def conf_dir() -> Path:
    """The directory holding ``config.yaml``: ``$GANAUDIT_CONF`` or the package's ``ganaudit/conf``."""
    env = os.environ.get("GANAUDIT_CONF")
    path = Path(env) if env else PACKAGE_CONF
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"no config.yaml in conf directory '{path}'; expected GANAUDIT_CONF unset (the packaged "
            "configs) or naming a directory that holds config.yaml"
        )
    return path


def _group_options(group: str) -> list[str]:
    """Option names of a config group, read from ``conf/<group>/*.yaml``."""
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def compose(overrides: Iterable[str] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra overrides (``["loss=ls", "seed=3"]``).

    Works inside a running Hydra app too: the global Hydra state is saved and restored. An unknown
    group option or a malformed override raises ConfigError naming the option and the allowed values.
    Interpolations (e.g. ``arch.resolution: ${dataset.resolution}``) are left unresolved.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    overrides = [str(o) for o in overrides]
    path = conf_dir()
    backup = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(path), version_base="1.3"):
            return hydra_compose(config_name=config_name, overrides=overrides)
    except MissingConfigException as exc:
        raise _unknown_option_error(overrides, exc) from None
    except HydraException as exc:
        raise ConfigError(f"invalid overrides {overrides} for conf '{path}': {exc}") from None
    except yaml.YAMLError as exc:  # a config file that is not YAML
        mark = getattr(exc, "problem_mark", None)
        where = f"'{mark.name}' line {mark.line + 1}" if mark else f"a file under '{path}'"
        raise ConfigError(f"config file {where} is not valid YAML ({getattr(exc, 'problem', None) or exc}); "
                          "expected a YAML mapping") from None
    finally:
        restore_gh_from_backup(backup)


def _unknown_option_error(overrides: list[str], exc: Exception) -> ConfigError:
    """ConfigError for ``group=name`` where conf/<group>/name.yaml does not exist."""
    from ganaudit.utils.overrides import override_dict

    for group, value in override_dict(overrides, as_text=True).items():
        if (conf_dir() / group).is_dir() and value and not (conf_dir() / group / f"{value}.yaml").is_file():
            return ConfigError(
                f"unknown {group} '{value}'; allowed values for option '{group}': "
                f"{', '.join(_group_options(group))}"
            )
    return ConfigError(f"cannot compose config with overrides {overrides}: {exc}")


# ----------------------------------------------------------------------------------------- validate
def _get(cfg: DictConfig, key: str) -> Any:
    """``cfg`` value at dotted ``key`` (interpolations resolved); ConfigError if missing."""
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=True, default=_MISSING)
    except Exception as exc:  # interpolation to a missing key, ...
        raise ConfigError(f"option '{key}' cannot be resolved: {exc}") from None
    if value is _MISSING:
        raise ConfigError(f"option '{key}' is missing from the configuration")
    return value


_MISSING = object()


def _number(cfg: DictConfig, key: str, *, integer: bool = False) -> float:
    value = _get(cfg, key)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        want = "an integer" if integer else "a finite number"
        raise ConfigError(f"option '{key}' = {value!r}: expected {want}")
    return value


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"option '{key}' = {value!r}: expected {expected}")


def _registry(group: str):
    module, attr = AXIS_GROUPS[group]
    import importlib

    return getattr(importlib.import_module(module), attr)


def _check_names(cfg: DictConfig) -> None:
    """Each axis name is a registered option (the registry's ConfigError lists the allowed values)."""
    for group in AXIS_GROUPS:
        name = _get(cfg, f"{group}.name")
        registry = _registry(group)
        if name not in registry:
            raise ConfigError(
                f"unknown {group} '{name}'; allowed values for option '{group}': {', '.join(registry.names())}"
            )


def _check_numbers(cfg: DictConfig) -> None:
    lam = _number(cfg, "penalty.weight")
    _check(lam >= 0, "penalty.weight", lam, "a penalty weight lambda >= 0 (study grid: 1, 10)")
    lr = _number(cfg, "optim.lr")
    _check(lr > 0, "optim.lr", lr, "a learning rate > 0 (study grid: 0.0001, 0.0002, 0.001)")
    for key in ("optim.beta1", "optim.beta2"):
        b = _number(cfg, key)
        _check(0 <= b < 1, key, b, "an Adam beta in [0, 1)")
    eps = _number(cfg, "optim.eps")
    _check(eps > 0, "optim.eps", eps, "an Adam epsilon > 0 (study: 1e-8)")
    from ganaudit.axes.optim import ADAM_IMPLS

    impl = OmegaConf.select(cfg, "optim.impl", default="tf1")
    _check(impl in ADAM_IMPLS, "optim.impl", impl, f"one of {', '.join(ADAM_IMPLS.names())} (tf1: the study's Adam)")
    n_dis = _number(cfg, "optim.n_dis", integer=True)
    _check(n_dis >= 1, "optim.n_dis", n_dis, "an integer >= 1 (D steps per G step; study: 1 or 5)")
    for key in ("trainer.d_steps", "trainer.checkpoint_every", "arch.z_dim"):
        v = _number(cfg, key, integer=True)
        _check(v >= 1, key, v, "an integer >= 1")
    bs = _number(cfg, "trainer.batch_size", integer=True)
    _check(bs >= 2, "trainer.batch_size", bs, "an integer >= 2 (G's batch norm needs 2 samples; study: 64)")
    width = _number(cfg, "arch.width")
    _check(width > 0, "arch.width", width, "a channel multiplier > 0 (1.0 = the study)")
    seed = _number(cfg, "seed", integer=True)
    _check(0 <= seed < 2**32, "seed", seed, "an integer in [0, 2**32)")
    data_seed = _number(cfg, "data_seed", integer=True)
    _check(0 <= data_seed < 2**32, "data_seed", data_seed, "an integer in [0, 2**32) (study: 547; or ${seed})")
    workers = _number(cfg, "trainer.num_workers", integer=True)
    _check(workers >= 0, "trainer.num_workers", workers, "an integer >= 0")
    from ganaudit.training.precision import check_precision

    check_precision(str(_get(cfg, "trainer.precision")))  # 32-true (exact float32) | tf32
    threads = OmegaConf.select(cfg, "trainer.cpu_threads")
    if threads is not None:
        v = _number(cfg, "trainer.cpu_threads", integer=True)
        _check(v >= 1, "trainer.cpu_threads", v, "null or an integer >= 1")
    stop_at = _get(cfg, "trainer.stop_at")
    if stop_at is not None:
        v = _number(cfg, "trainer.stop_at", integer=True)
        _check(v >= 1, "trainer.stop_at", v, "null or an integer >= 1 (a D step)")
    if OmegaConf.select(cfg, "eval.every") is not None:
        v = _number(cfg, "eval.every", integer=True)
        _check(v >= 1, "eval.every", v, "an integer >= 1 (D steps between evaluations)")


def _check_resolution(cfg: DictConfig) -> None:
    """arch.resolution is the dataset's, and the architecture supports it with this D norm."""
    res = _number(cfg, "arch.resolution", integer=True)
    data_res = _get(cfg, "dataset.resolution")
    _check(
        res == data_res,
        "arch.resolution",
        res,
        f"the resolution of dataset '{_get(cfg, 'dataset.name')}' ({data_res})",
    )
    arch = _registry("arch").get(_get(cfg, "arch.name"))
    arch.check(res, _get(cfg, "norm.name"))  # ConfigError: e.g. sndcgan with batch norm


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError for the first invalid option, naming it and the allowed values.

    Checked: registered names (loss, penalty, norm, arch, dataset); arch x norm x resolution
    (e.g. SNDCGAN accepts only norm none/spectral); lambda >= 0; lr > 0; betas in [0, 1); eps > 0;
    n_dis >= 1; lengths >= 1 (D steps); batch size >= 2; width > 0; seed in [0, 2**32);
    precision 32-true or tf32 (bf16-mixed refused); Adam impl tf1|torch; cpu_threads null or >= 1;
    no key that nothing reads (``+typo=1``).
    """
    from ganaudit.training.config_keys import check_known_keys

    check_known_keys(cfg, conf_dir())
    _check_names(cfg)
    _check_numbers(cfg)
    _check_resolution(cfg)


# ------------------------------------------------------------------------------------------- hashing
def to_plain(cfg: DictConfig) -> dict:
    """The resolved config as plain python containers (JSON-serializable)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def semantic_config(cfg: DictConfig) -> dict:
    """The part of the resolved config that determines the trained weights.

    Drops UNHASHED_KEYS, and ``penalty.weight`` when ``penalty.name == 'none'`` (lambda is ignored
    then, spec §2.4), so the 24 Table-1 settings give 12 distinct unpenalized trainings.
    """
    plain = to_plain(cfg)
    for key in UNHASHED_KEYS:
        *parents, leaf = key.split(".")
        node = plain
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    if plain.get("penalty", {}).get("name") == "none":
        plain["penalty"].pop("weight", None)
    return plain


def config_hash(cfg: DictConfig) -> str:
    """sha256 (first 16 hex) of the canonical JSON of :func:`semantic_config`."""
    blob = json.dumps(semantic_config(cfg), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_dir(cfg: DictConfig) -> Path:
    """``<paths.runs>/<config_hash>-s<seed>``: where a run keeps checkpoints, records and result.json."""
    return Path(str(_get(cfg, "paths.runs"))) / f"{config_hash(cfg)}-s{int(_get(cfg, 'seed'))}"


RUN_DIR_RESOLVER = "ganaudit.run_dir"


def _run_dir_of_root(*, _root_: DictConfig) -> str:
    """:func:`run_dir` of the whole configuration the resolver sits in (its ``hydra`` node left out)."""
    body = OmegaConf.masked_copy(_root_, [k for k in _root_ if k != "hydra"])
    return str(run_dir(body))


def register_resolvers() -> None:
    """Register ``${ganaudit.run_dir:}`` (= ``<paths.runs>/<config_hash>-s<seed>``), which
    ``conf/config.yaml`` uses as ``hydra.run.dir`` so that Hydra's ``.hydra/`` and log sit in the
    run directory beside ``checkpoints/``. Call before ``hydra.main`` composes; idempotent."""
    if not OmegaConf.has_resolver(RUN_DIR_RESOLVER):
        OmegaConf.register_new_resolver(RUN_DIR_RESOLVER, _run_dir_of_root)
