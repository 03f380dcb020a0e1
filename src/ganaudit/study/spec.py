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

import difflib
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ganaudit.study.hparams import PARAM_ORDER, grid_settings, random_settings, setting_id, setting_overrides
from ganaudit.utils.conf import conf_dir
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.overrides import override_dict

LIST_ENTRY_KEYS = frozenset({"label", "overrides", "only"})  # of a study.configurations.list entry

MODES = ("fixed", "grid", "random", "bo")

#: the keys a study file may hold, per node (anything else is refused with the nearest names)
STUDY_KEYS = ("name", "description", "base", "configurations", "hparams", "seeds", "task_options",
              "claims")  # claims: ids of audits/claims/kurach2019.yaml the slice covers (study.plan lists them)
CONFIGURATIONS_KEYS = ("axes", "list")
HPARAMS_KEYS = ("modes", *MODES)
MODE_KEYS = {
    "grid": ("lr", "lambda", "beta1_beta2_ndis", "dedupe_unpenalized"),
    "random": ("n", "seed", "seeds", "lr", "beta1", "beta2", "n_dis", "lambda"),
    "bo": ("rounds", "batch", "n_dis", "seed", "seeds", "n_startup_trials", "diverged_value", "lr", "beta1",
           "beta2", "lambda"),
}
SEED_MAX = 2**32  # seeds are in [0, 2**32), as the training config's


def study_source(name: str | None = None) -> str:
    """How messages name the study file: ``study file '<path>'`` of the running Hydra app's ``study``
    choice (and the ``study.*`` overrides of its command line), else ``study '<name>'`` (a study composed
    through the compose API or given as a dict)."""
    try:
        hc = HydraConfig.get()
        choice = hc.runtime.choices.get("study")
        edits = [str(o) for o in hc.overrides.task if str(o).lstrip("+~").startswith("study.")]
    except ValueError:  # no Hydra app running
        choice, edits = None, []
    if choice:
        path = conf_dir() / "study" / f"{choice}.yaml"
        where = f"study file '{path}'" if path.is_file() else f"study '{choice}'"
        return where + (f" (with the command-line overrides {' '.join(edits)})" if edits else "")
    return f"study '{name}'" if name else "the study"


def _nearest(key: str, allowed) -> str:
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=2, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_keys(node: Any, where: str, allowed, source: str) -> dict:
    """``node`` as a dict whose keys are all in ``allowed``; else ConfigError naming the first unknown
    key, ``source`` (the study file) and the nearest valid names."""
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError(f"{source}: {where} is {type(node).__name__} {node!r}; expected a mapping with keys "
                          f"{', '.join(allowed)}")
    for key in node:
        if key not in allowed:
            raise ConfigError(f"{source}: {where} has unknown key '{key}'{_nearest(key, allowed)}; expected "
                              f"one of {', '.join(allowed)}")
    return dict(node)


def check_list(node: Any, where: str, source: str, what: str) -> list:
    """``node`` as a list (None -> []); ConfigError naming ``where`` otherwise."""
    if node is None:
        return []
    if not isinstance(node, (list, tuple)):
        raise ConfigError(f"{source}: {where} is {type(node).__name__} {node!r}; expected a list of {what}")
    return list(node)


def check_number(value: Any, where: str, source: str, *, integer: bool = False) -> float | int:
    """``value`` if it is a finite number (an int when ``integer``; bools and strings are not)."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ConfigError(f"{source}: {where} = {value!r}; expected {'an integer' if integer else 'a finite number'}")
    return value


def check_seeds(node: Any, where: str, source: str) -> list[int]:
    """A non-empty list of distinct integer seeds in [0, 2**32)."""
    seeds = check_list(node, where, source, "integer seeds")
    for i, s in enumerate(seeds):
        check_number(s, f"{where}[{i}]", source, integer=True)
        if not 0 <= s < SEED_MAX:
            raise ConfigError(f"{source}: {where}[{i}] = {s}; expected an integer seed in [0, 2**32)")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"{source}: {where} = {seeds}; expected a non-empty list of distinct integer seeds")
    return [int(s) for s in seeds]


def check_hparams(hp: dict, source: str) -> None:
    """The keys of ``study.hparams`` and of each mode's options, the fixed settings' keys and types."""
    for mode in ("grid", "random", "bo"):
        opts = check_keys(hp.get(mode), f"study.hparams.{mode}", MODE_KEYS[mode], source)
        if "seeds" in opts:
            check_seeds(opts["seeds"], f"study.hparams.{mode}.seeds", source)
    for i, entry in enumerate(check_list(hp.get("fixed"), "study.hparams.fixed", source, "settings")):
        entry = check_keys(entry, f"study.hparams.fixed[{i}]", PARAM_ORDER, source)
        missing = [k for k in ("lr", "beta1", "beta2", "n_dis") if k not in entry]
        if missing:
            raise ConfigError(f"{source}: study.hparams.fixed[{i}] {entry} lacks {', '.join(missing)}; expected "
                              "lr, beta1, beta2, n_dis (and lambda for penalized configurations)")
        for key, value in entry.items():
            check_number(value, f"study.hparams.fixed[{i}].{key}", source, integer=key == "n_dis")


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
    source: str = "the study"   # how messages name the study file

    @classmethod
    def from_run_config(cls, cfg: DictConfig) -> "StudySpec":
        """The study of a composed ``run_study`` config as its runs are launched: :meth:`from_config`
        with the config's ``determinism`` mode put first in ``base`` (every run trains in the study's
        mode, and its record's overrides say so). Planning and running both use it, so ``plan=true``
        recognizes the runs a study has finished."""
        spec = cls.from_config(cfg.study, cfg.hparam_keys)
        if cfg.get("determinism"):
            spec.base.insert(0, f"determinism={cfg.determinism}")
        return spec

    @classmethod
    def from_config(cls, study: DictConfig | Mapping, hparam_keys: Mapping[str, str],
                    source: str | None = None) -> "StudySpec":
        """Parse the ``study`` node; ConfigError naming ``source`` (default :func:`study_source`), the
        option and what is expected on a malformed file: unknown keys (with the nearest names), seeds
        that are not distinct integers, malformed settings, configurations, lambda that no configuration
        uses. Settings ranges and option values are checked by ``ganaudit.study.validate``."""
        raw = OmegaConf.to_container(study, resolve=True) if OmegaConf.is_config(study) else study
        source = source or study_source(raw.get("name") if isinstance(raw, Mapping) else None)
        raw = check_keys(raw, "study", STUDY_KEYS, source)
        name = raw.get("name")
        if not name:
            raise ConfigError(f"{source}: study.name is missing; expected the study's name (e.g. demo)")
        hp = check_keys(raw.get("hparams"), "study.hparams", HPARAMS_KEYS, source)
        modes = check_list(hp.get("modes"), "study.hparams.modes", source, "modes") or ["grid"]
        for m in modes:
            if m not in MODES:
                raise ConfigError(f"{source}: study.hparams.modes: unknown mode '{m}'{_nearest(m, MODES)}; "
                                  f"allowed: {', '.join(MODES)}")
        check_hparams(hp, source)
        seeds = check_seeds(raw.get("seeds", [0]), "study.seeds", source)
        base = check_list(raw.get("base"), "study.base", source, "overrides")
        configs = parse_configurations(raw.get("configurations") or {}, source)
        spec = cls(name=str(name), base=[str(o) for o in base], configurations=configs, modes=modes,
                   hparams=hp, seeds=seeds, hparam_keys=dict(hparam_keys),
                   description=str(raw.get("description", "")), source=source)
        spec.check_lambda_used()
        return spec

    def check_lambda_used(self) -> None:
        """Refuse a lambda that no configuration of the study would use (none has a penalty)."""
        if any(c.penalty != "none" for c in self.configurations):
            return
        if str(override_dict(self.base, as_text=True).get("penalty", "none")) != "none":
            return  # a penalty in the base: ganaudit.study.validate refuses it with its own message
        fixed = self.hparams.get("fixed") or []
        given = [f"study.hparams.fixed[{i}].lambda" for i, s in enumerate(fixed) if "lambda" in s]
        given += [f"study.hparams.{m}.lambda" for m in ("grid", "random", "bo")
                  if "lambda" in (self.hparams.get(m) or {})]
        if given:
            raise ConfigError(f"{self.source}: {given[0]} is set but no configuration of the study has a penalty, "
                              "so lambda would be ignored; remove it, or add a configuration with a penalty "
                              "(e.g. overrides [penalty=wgan_gp])")

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


def parse_configurations(raw: Mapping, source: str = "the study") -> list[Configuration]:
    """``axes`` (Cartesian product) and ``list`` (explicit) entries -> Configurations with unique labels."""
    raw = check_keys(raw, "study.configurations", CONFIGURATIONS_KEYS, source)
    configs: list[Configuration] = []
    axes = check_keys(raw.get("axes"), "study.configurations.axes", list(raw.get("axes") or {}), source)
    if axes:
        names = list(axes)
        for n in names:
            if not axes[n] or not isinstance(axes[n], (list, tuple, Mapping)):
                raise ConfigError(f"{source}: study.configurations.axes.{n} = {axes[n]!r}; expected a non-empty "
                                  f"list of option names (e.g. {n}: [a, b]) or a mapping label -> overrides")
        for combo in itertools.product(*(_axis_values(n, axes[n]) for n in names)):
            pairs = {n: value for n, (value, _) in zip(names, combo, strict=True)}
            overrides = tuple(o for _, ovs in combo for o in ovs)
            label = ",".join(f"{k}={v}" for k, v in pairs.items())
            configs.append(Configuration(label=label, overrides=overrides, axes=pairs))
    entries = check_list(raw.get("list"), "study.configurations.list", source, "configurations")
    for i, entry in enumerate(entries):
        where = f"study.configurations.list[{i}]"
        if not isinstance(entry, Mapping) or "label" not in entry:
            raise ConfigError(f"{source}: {where} = {entry!r} needs a 'label'; expected e.g. "
                              "{label: x, overrides: [loss=hinge]}")
        # e.g. {label: x, loss: hinge}: silently ignored, it would train the base configuration
        check_keys(entry, f"{where} ('{entry['label']}')", sorted(LIST_ENTRY_KEYS), source)
        overrides = tuple(str(o) for o in check_list(entry.get("overrides"), f"{where}.overrides", source,
                                                     "overrides"))
        only = check_keys(entry.get("only"), f"{where}.only", PARAM_ORDER, source)
        axes_of = override_dict(overrides, as_text=True)
        configs.append(Configuration(label=str(entry["label"]), overrides=overrides, axes=axes_of, only=only))
    labels = [c.label for c in configs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(f"{source}: study.configurations: duplicate labels {dupes}; expected one label per "
                          "configuration")
    if not configs:
        raise ConfigError(f"{source}: study.configurations is empty; expected 'axes' and/or 'list'")
    return configs
