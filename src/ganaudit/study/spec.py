"""A study as data: configurations × hyperparameter settings × seeds -> a list of runs (override lists).

A study file (``conf/study/<name>.yaml``, Hydra package ``study``) looks like::

    name: loss_slice_celebahq
    base: [dataset=celeba_hq_128, arch=resnet19]      # overrides shared by every run
    configurations:
      axes: {loss: [ns, ls, wgan], norm: [none, spectral]}   # Cartesian product, label "loss=ns,norm=none"
      list:                                           # and/or explicit ones
        - {label: "GP 5", overrides: [penalty=wgan_gp, norm=none], only: {n_dis: 5}}
    hparams:
      modes: [grid, bo]           # any of fixed, grid, random, bo
      fixed: [{lr: 2e-4, beta1: 0.5, beta2: 0.999, n_dis: 1}]
      grid: {dedupe_unpenalized: true}                # Table 1 by default
      random: {n: 24, seed: 0, seeds: [0]}            # Table 2 ranges by default
      bo: {rounds: 12, batch: 10, n_dis: [1, 5], seed: 0, seeds: [0]}
    seeds: [0, 1, 2, 3, 4]        # seeds of each fixed/grid setting (spec §5.5: 5, median reported)
    task_options: {torch_threads: 1}   # optional, merged over run_study.yaml's study_task.options

``hparam_keys`` (in ``conf/run_study.yaml``) maps lr/beta1/beta2/n_dis/lambda to the training config's
option paths, so a study file never spells them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf

from ganaudit.study.hparams import grid_settings, random_settings, setting_id, setting_overrides
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.overrides import override_dict

LIST_ENTRY_KEYS = frozenset({"label", "overrides", "only"})  # of a study.configurations.list entry

MODES = ("fixed", "grid", "random", "bo")


@dataclass(frozen=True)
class Configuration:
    """One landscape configuration (loss × norm × penalty × arch × dataset ...) of a study."""

    label: str
    overrides: tuple[str, ...]
    axes: Mapping[str, str]
    only: Mapping[str, Any] = field(default_factory=dict)

    @property
    def penalty(self) -> str:
        """The configuration's penalty name (last ``penalty=`` override; ``none`` if absent)."""
        return str(override_dict(self.overrides, as_text=True).get("penalty", "none"))

    def admits(self, setting: Mapping[str, Any]) -> bool:
        """Whether ``setting`` passes this configuration's ``only`` filter (e.g. ``{n_dis: 5}``)."""
        return all(setting.get(k) == v for k, v in self.only.items())


@dataclass
class RunSpec:
    """One run of a study: ``overrides`` composed with ``ganaudit.training.config.compose`` give its config."""

    study: str
    label: str
    axes: dict
    setting: str
    hparams: dict
    source: str                  # fixed | grid | random | bo
    seed: int
    overrides: list[str]
    bo_group: str | None = None
    bo_round: int | None = None
    bo_trial: int | None = None
    key: str | None = None       # <config_hash>-s<seed>, filled in by the planner
    config_hash: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class StudySpec:
    """A parsed study file (see module docstring)."""

    name: str
    base: list[str]
    configurations: list[Configuration]
    modes: list[str]
    hparams: dict
    seeds: list[int]
    hparam_keys: dict
    description: str = ""

    @classmethod
    def from_config(cls, study: DictConfig | Mapping, hparam_keys: Mapping[str, str]) -> "StudySpec":
        """Parse the ``study`` node; ConfigError naming the option on a malformed file."""
        raw = OmegaConf.to_container(study, resolve=True) if isinstance(study, DictConfig) else dict(study)
        name = raw.get("name")
        if not name:
            raise ConfigError("study.name is missing; expected the study's name (e.g. demo)")
        hp = dict(raw.get("hparams") or {})
        modes = list(hp.get("modes") or ["grid"])
        for m in modes:
            if m not in MODES:
                raise ConfigError(f"study.hparams.modes: unknown mode '{m}'; allowed: {', '.join(MODES)}")
        seeds = [int(s) for s in raw.get("seeds", [0])]
        if not seeds or len(set(seeds)) != len(seeds):
            raise ConfigError(f"study.seeds must be a non-empty list of distinct ints, got {seeds}")
        return cls(name=str(name), base=[str(o) for o in raw.get("base") or []],
                   configurations=parse_configurations(raw.get("configurations") or {}),
                   modes=modes, hparams=hp, seeds=seeds, hparam_keys=dict(hparam_keys),
                   description=str(raw.get("description", "")))

    # ------------------------------------------------------------ expansion
    def settings_for(self, config: Configuration, mode: str) -> list[dict]:
        """The hyperparameter settings of ``mode`` (fixed/grid/random) for ``config``, filtered by ``only``."""
        if mode == "grid":
            settings = grid_settings(config.penalty, self.hparams.get("grid"))
        elif mode == "random":
            settings = random_settings(config.penalty, self.hparams.get("random"))
        elif mode == "fixed":
            settings = [_fixed_setting(s, config.penalty) for s in self.hparams.get("fixed") or []]
            if not settings:
                raise ConfigError(f"study '{self.name}': hparams.modes has 'fixed' but hparams.fixed is empty")
        else:
            raise ConfigError(f"settings_for: mode '{mode}' is not a fixed-list mode")
        return [s for s in settings if config.admits(s)]

    def seeds_for(self, mode: str) -> list[int]:
        """Seeds per setting: ``study.seeds`` for fixed/grid; ``hparams.<mode>.seeds`` (default [0]) else."""
        if mode in ("fixed", "grid"):
            return self.seeds
        return [int(s) for s in (self.hparams.get(mode) or {}).get("seeds", [0])]

    def run_for(self, config: Configuration, setting: dict, source: str, seed: int, **bo: Any) -> RunSpec:
        """The RunSpec of ``config`` at ``setting`` with ``seed`` (overrides: base, config, setting, seed)."""
        overrides = [*self.base, *config.overrides,
                     *setting_overrides(setting, self.hparam_keys), f"seed={int(seed)}"]
        return RunSpec(study=self.name, label=config.label, axes=dict(config.axes),
                       setting=setting_id(setting), hparams=dict(setting), source=source,
                       seed=int(seed), overrides=overrides, **bo)

    def expand_static(self) -> list[RunSpec]:
        """All runs of the non-sequential modes (fixed, grid, random), in a stable order.

        Settings that two modes share (same setting id) are run once, under the first mode listed.
        """
        runs: list[RunSpec] = []
        for config in self.configurations:
            seen: set[str] = set()
            for mode in self.modes:
                if mode == "bo":
                    continue
                for setting in self.settings_for(config, mode):
                    sid = setting_id(setting)
                    if sid in seen:
                        continue
                    seen.add(sid)
                    runs.extend(self.run_for(config, setting, mode, seed) for seed in self.seeds_for(mode))
        return runs


def _fixed_setting(s: Mapping[str, Any], penalty: str) -> dict:
    """A listed setting, λ dropped when the configuration has no penalty."""
    missing = [k for k in ("lr", "beta1", "beta2", "n_dis") if k not in s]
    if missing:
        raise ConfigError(f"study.hparams.fixed entry {dict(s)} lacks {missing}")
    out = {"lr": float(s["lr"]), "beta1": float(s["beta1"]), "beta2": float(s["beta2"]),
           "n_dis": int(s["n_dis"])}
    if penalty != "none":
        out["lambda"] = float(s.get("lambda", 10.0))
    return out


def _axis_values(name: str, values) -> list[tuple[str, tuple[str, ...]]]:
    """(value label, overrides) pairs of one axis: a list of option names (``loss: [ns, ls]`` ->
    ``loss=ns``) or a mapping label -> override list (``reg: {SN: [norm=spectral, penalty=none]}``)."""
    if isinstance(values, Mapping):
        return [(str(k), tuple(str(o) for o in (v or []))) for k, v in values.items()]
    return [(str(v), (f"{name}={v}",)) for v in values]


def parse_configurations(raw: Mapping) -> list[Configuration]:
    """``axes`` (Cartesian product) and ``list`` (explicit) entries -> Configurations with unique labels."""
    configs: list[Configuration] = []
    axes = raw.get("axes") or {}
    if axes:
        names = list(axes)
        for combo in itertools.product(*(_axis_values(n, axes[n]) for n in names)):
            pairs = {n: value for n, (value, _) in zip(names, combo, strict=True)}
            overrides = tuple(o for _, ovs in combo for o in ovs)
            label = ",".join(f"{k}={v}" for k, v in pairs.items())
            configs.append(Configuration(label=label, overrides=overrides, axes=pairs))
    for entry in raw.get("list") or []:
        if "label" not in entry:
            raise ConfigError(f"study.configurations.list entry {entry} needs a 'label'")
        unknown = sorted(set(entry) - LIST_ENTRY_KEYS)
        if unknown:  # e.g. {label: x, loss: hinge}: silently ignored, it would train the base configuration
            raise ConfigError(f"study.configurations.list entry '{entry['label']}' has unknown keys {unknown}; "
                              f"expected {sorted(LIST_ENTRY_KEYS)}, e.g. {{label: x, overrides: [loss=hinge]}}")
        overrides = tuple(str(o) for o in entry.get("overrides") or [])
        axes_of = override_dict(overrides, as_text=True)
        configs.append(Configuration(label=str(entry["label"]), overrides=overrides, axes=axes_of,
                                     only=dict(entry.get("only") or {})))
    labels = [c.label for c in configs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(f"study.configurations: duplicate labels {dupes}")
    if not configs:
        raise ConfigError("study.configurations is empty; expected 'axes' and/or 'list'")
    return configs
