"""A study checked completely before anything is planned, priced or launched: the same function for
``plan=true`` and for the run, so a plan never prices a study that the run would refuse.

    configs = check_study(spec)   # {label: composed training config}; ConfigError (exit 2) naming the
                                  # study file, the configuration, the setting and what is expected

Checked, on top of what :meth:`StudySpec.from_config` checks in the file itself:

* every configuration composes (base + its overrides: known axis names and values) and passes
  ``ganaudit.training.config.validate`` (resolution vs architecture, known keys, ...);
* every hyperparameter setting of the fixed, grid and random modes, and both corners of the BO search
  ranges, pass the same ``validate`` once applied (ranges of lr, betas, n_dis, lambda);
* a configuration's penalty is the one its study reads (its own overrides), so lambda is not dropped;
* every configuration plans at least one run (an ``only`` filter that admits nothing is refused);
* no two labels resolve to the same training configuration (the audit would keep only one of them).

Settings are applied to the composed configuration with ``OmegaConf.update`` (the values the run's
``key=value`` overrides give), which costs milliseconds where composing each run costs a third of a second.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf

from ganaudit.study.hparams import PARAM_ORDER, lambda_range, setting_id
from ganaudit.study.spec import Configuration, StudySpec
from ganaudit.training.config import compose, conf_dir, semantic_config, validate
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.overrides import override_key

__all__ = ["check_study"]


def _unknown_option(spec: StudySpec, overrides) -> str | None:
    """The first override of ``overrides`` whose key is neither a config group nor an option of the
    training config that ``spec.base`` composes, as a message with the nearest names; else None."""
    base = compose(spec.base)
    for text in overrides:
        if str(text).startswith(("+", "~")):
            continue   # additions and deletions: validate's known-keys check names them
        key = override_key(text)
        if (conf_dir() / key).is_dir() or OmegaConf.select(base, key, default=KeyError) is not KeyError:
            continue
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(base, parent) if parent else base
        names = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
        if not parent:
            names += [p.name for p in conf_dir().iterdir() if p.is_dir() and not p.name.startswith("_")]
        close = difflib.get_close_matches(leaf, sorted(set(names)), n=2, cutoff=0.5)
        hint = f" (did you mean {' or '.join(repr(f'{parent}.{c}' if parent else c) for c in close)}?)" if close else ""
        return (f"unknown option '{key}'{hint}; expected a config group (e.g. loss, norm, penalty, arch) or an "
                "option of the training config")
    return None


def _compose(spec: StudySpec, config: Configuration) -> DictConfig:
    where = f"{spec.source}: configuration '{config.label}' ({', '.join(config.overrides) or 'no overrides'})"
    try:
        cfg = compose([*spec.base, *config.overrides])
        validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {_unknown_option(spec, config.overrides) or exc}") from None
    penalty = str(cfg.penalty.name)
    if penalty != config.penalty:
        raise ConfigError(f"{where}: composes penalty '{penalty}' from the base or an experiment file, but the "
                          f"study chooses lambda from the configuration's own overrides (penalty "
                          f"'{config.penalty}'); expected penalty={penalty} in the configuration's overrides")
    return cfg


def _apply(spec: StudySpec, cfg: DictConfig, setting: Mapping[str, Any]) -> DictConfig:
    """A copy of ``cfg`` with the setting's values at their ``hparam_keys`` paths."""
    out = cfg.copy()
    for name in PARAM_ORDER:
        if setting.get(name) is None:
            continue
        path = spec.hparam_keys.get(name)
        if path is None or OmegaConf.select(out, path, default=KeyError) is KeyError:
            raise ConfigError(f"hparam_keys.{name} = {path!r}: expected the path of an option of the training "
                              "config (e.g. optim.lr)")
        value = int(setting[name]) if name == "n_dis" else float(setting[name])
        OmegaConf.update(out, path, value, merge=False)
    return out


def _check_setting(spec: StudySpec, config: Configuration, cfg: DictConfig, setting: dict, mode: str) -> tuple:
    """The run identity of ``config`` at ``setting`` beyond its configuration: the applied values that
    the config hash counts (lambda not when the penalty is none); ConfigError naming both if
    ``validate`` refuses the setting."""
    try:
        validate(_apply(spec, cfg, setting))
    except ConfigError as exc:
        raise ConfigError(f"{spec.source}: configuration '{config.label}', hparams mode {mode}, setting "
                          f"{setting_id(setting)}: {exc}") from None
    counted = [n for n in PARAM_ORDER if setting.get(n) is not None and (n != "lambda" or cfg.penalty.name != "none")]
    return tuple((n, int(setting[n]) if n == "n_dis" else float(setting[n])) for n in counted)


def _core_hash(spec: StudySpec, cfg: DictConfig) -> str:
    """sha256 (16 hex) of the configuration's semantic config without its hyperparameter options: two
    configurations with the same core hash train the same runs at the same setting."""
    plain = semantic_config(cfg)
    for path in spec.hparam_keys.values():
        *parents, leaf = str(path).split(".")
        node = plain
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    blob = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _static_settings(spec: StudySpec, config: Configuration) -> list[tuple[str, dict]]:
    """(mode, setting) of the fixed/grid/random runs of ``config``, as ``expand_static`` plans them."""
    out, seen = [], set()
    for mode in [m for m in spec.modes if m != "bo"]:
        try:
            settings = spec.settings_for(config, mode)
        except ConfigError as exc:
            raise ConfigError(f"{spec.source}: {exc}") from None
        for s in settings:
            if setting_id(s) not in seen:
                seen.add(setting_id(s))
                out.append((mode, s))
    return out


def _bo_corners(spec: StudySpec, config: Configuration) -> list[tuple[int, list[dict]]]:
    """(n_dis, [low corner, high corner]) of each BO group of ``config``: the ends of its ranges."""
    # deferred: ganaudit.study.bo imports optuna (about 1 s), needed by BO studies only
    from ganaudit.study.bo import bo_groups, bo_options

    if "bo" not in spec.modes:
        return []
    try:
        opts = bo_options(spec)
        groups = [g for g in bo_groups(spec) if g.config.label == config.label]
    except ConfigError as exc:
        raise ConfigError(f"{spec.source}: {exc}") from None
    out = []
    for g in groups:
        lam = lambda_range(config.penalty, opts)
        corners = []
        for end in (0, 1):
            s = {"lr": opts["lr"][end], "beta1": opts["beta1"][end], "beta2": opts["beta2"][end], "n_dis": g.n_dis}
            if lam is not None:
                s["lambda"] = lam[end]
            corners.append(s)
        out.append((g.n_dis, corners))
    return out


def check_study(spec: StudySpec) -> dict[str, DictConfig]:
    """Check ``spec`` completely (see module docstring); return each configuration's composed config."""
    configs: dict[str, DictConfig] = {}
    owner: dict[tuple, tuple[str, str]] = {}    # (core hash, setting values) -> (label, setting id)
    bo_owner: dict[tuple[str, int], str] = {}   # (core hash, n_dis) -> label
    for config in spec.configurations:
        cfg = configs[config.label] = _compose(spec, config)
        core = _core_hash(spec, cfg)
        static = _static_settings(spec, config)
        bo = _bo_corners(spec, config)
        if not static and not bo:
            raise ConfigError(f"{spec.source}: configuration '{config.label}' plans no run: its filter only="
                              f"{dict(config.only)} admits none of the settings of hparams modes "
                              f"{', '.join(spec.modes)}; expected a filter that some setting passes")
        for mode, setting in static:
            run = (core, _check_setting(spec, config, cfg, setting, mode))
            other = owner.setdefault(run, (config.label, setting_id(setting)))
            if other[0] != config.label:
                raise ConfigError(f"{spec.source}: configurations '{other[0]}' and '{config.label}' resolve to "
                                  f"the same training configuration (at setting {other[1]}), so "
                                  "the audit would keep one label only; expected configurations that differ")
        for n_dis, corners in bo:
            for corner in corners:
                _check_setting(spec, config, cfg, corner, "bo (end of its range)")
            group = (core, n_dis)
            other_label = bo_owner.setdefault(group, config.label)
            if other_label != config.label:
                raise ConfigError(f"{spec.source}: configurations '{other_label}' and '{config.label}' resolve to "
                                  f"the same training configuration with BO at n_dis "
                                  f"{n_dis}, so the audit would keep one label only; expected configurations "
                                  "that differ")
    return configs
