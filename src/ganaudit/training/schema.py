"""The schema of ganaudit's configuration: one dataclass per config group, registered in Hydra's ConfigStore.

Each option file of a group starts from its group's schema (``conf/loss/hinge.yaml``)::

    defaults:
      - base_loss        # LossSchema: the keys a loss option has, and their types
      - _self_
    name: hinge

and each primary config (``config.yaml``, ``evaluate.yaml``, ``run_study.yaml``) starts from
``base_config`` / ``base_evaluate`` / ``base_run_study``. Hydra then refuses, while composing, an override
of a key the schema does not have (``trainer.stepz=5``) and a value of the wrong type
(``optim.n_dis=1.5``); a key added with ``+`` is refused by :func:`unknown_keys`. Ranges a type cannot say
(``optim.lr > 0``, an architecture's resolutions, ...) are checked by ``ganaudit.training.config.validate``.

The values live in the YAML files, never here: a field is ``MISSING`` (the option file must set it) or
free-form (``Dict[str, Any]``: ``meta``, ``logger``, ``callbacks``). Registering happens on import of
this module; ``ganaudit.conf`` and ``ganaudit.training.config`` import it, so every composition sees it.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

__all__ = ["register", "unknown_keys", "schema_paths", "GROUP_SCHEMAS", "PRIMARY_SCHEMAS"]


# ------------------------------------------------------------------------------------------ the axes
@dataclass
class LossSchema:
    name: str = MISSING  # a key of ganaudit.axes.losses.LOSSES (spec §1)


@dataclass
class PenaltySchema:
    name: str = MISSING  # a key of ganaudit.axes.penalties.PENALTIES (spec §2)
    weight: float = MISSING  # lambda, >= 0; ignored (and not hashed) for penalty 'none'


@dataclass
class NormSchema:
    name: str = MISSING  # a key of ganaudit.axes.norms.NORMS (spec §3)


@dataclass
class ArchSchema:
    name: str = MISSING  # a key of ganaudit.axes.archs.ARCHS (spec §4)
    resolution: int = MISSING  # image side; must be the dataset's and one the architecture supports
    width: float = MISSING  # channel multiplier, > 0 (1.0 = the study)
    z_dim: int = MISSING
    init: str = MISSING  # v2 | v3
    conv_kernels: str = MISSING  # aten | fixed_order (ganaudit.axes.fixed_conv); hashed only when not aten


@dataclass
class OptimSchema:
    name: str = MISSING
    lr: float = MISSING
    beta1: float = MISSING
    beta2: float = MISSING
    eps: float = MISSING
    impl: str = MISSING  # a key of ganaudit.axes.optim.ADAM_IMPLS
    n_dis: int = MISSING  # D steps per G step


@dataclass
class DatasetSchema:
    name: str = MISSING  # a key of ganaudit.data.DATASETS
    resolution: int = MISSING
    data_dir: str = MISSING  # the prepared store (not hashed)
    split_seed: int = MISSING
    n_test: int = MISSING
    preprocessing_version: str = MISSING


@dataclass
class CelebAHQSchema(DatasetSchema):
    downsample: str = MISSING  # 1024 -> 128 resampling (spec §7)


# ---------------------------------------------------------------------------------- the training run
@dataclass
class TrainerSchema:
    d_steps: int = MISSING
    batch_size: int = MISSING
    checkpoint_every: int = MISSING
    accelerator: str = MISSING
    devices: Any = MISSING  # Lightning's: 1, "auto", [0, 1], ...
    precision: str = MISSING  # 32-true | tf32 (ganaudit.training.precision)
    deterministic: bool = MISSING
    cpu_threads: Optional[int] = MISSING
    num_workers: int = MISSING
    progress_bar: bool = MISSING
    log_every: int = MISSING
    resume: bool = MISSING
    stop_at: Optional[int] = MISSING
    keep: str = MISSING  # all | last


@dataclass
class EvalSchema:
    enabled: bool = MISSING
    protocol: str = MISSING
    every: int = MISSING
    artifacts_dir: str = MISSING
    record_path: Optional[str] = MISSING


@dataclass
class ModuleSchema:
    """Keyword arguments of ``ganaudit.training.lit.gan_module.GANModule`` (interpolations of the axes)."""

    _target_: str = MISSING
    loss: str = MISSING
    penalty: str = MISSING
    penalty_weight: float = MISSING
    norm: str = MISSING
    arch: str = MISSING
    resolution: int = MISSING
    width: float = MISSING
    z_dim: int = MISSING
    init: str = MISSING
    conv_kernels: str = MISSING
    lr: float = MISSING
    beta1: float = MISSING
    beta2: float = MISSING
    eps: float = MISSING
    adam_impl: str = MISSING
    n_dis: int = MISSING
    log_every: int = MISSING


@dataclass
class DataModuleSchema:
    """Keyword arguments of ``ganaudit.data.datamodule.GANDataModule``."""

    _target_: str = MISSING
    dataset: str = MISSING
    data_dir: str = MISSING
    batch_size: int = MISSING
    seed: int = MISSING
    num_workers: int = MISSING


@dataclass
class LightningSchema:
    """The objects a run is made of, built with ``hydra.utils.instantiate`` (not hashed)."""

    module: ModuleSchema = MISSING
    datamodule: DataModuleSchema = MISSING
    trainer: Dict[str, Any] = MISSING  # pytorch_lightning.Trainer's keyword arguments


@dataclass
class PathsSchema:
    root: str = MISSING
    data: str = MISSING
    artifacts: str = MISSING
    runs: str = MISSING


@dataclass
class TrainConfig:
    """``conf/config.yaml``: one training run."""

    loss: LossSchema = MISSING
    penalty: PenaltySchema = MISSING
    norm: NormSchema = MISSING
    arch: ArchSchema = MISSING
    optim: OptimSchema = MISSING
    dataset: DatasetSchema = MISSING
    trainer: TrainerSchema = MISSING
    eval: EvalSchema = MISSING
    logger: Dict[str, Any] = field(default_factory=dict)  # name -> {_target_: ...}
    callbacks: Dict[str, Any] = field(default_factory=dict)  # name -> {_target_: ...}
    lightning: LightningSchema = MISSING
    seed: int = MISSING
    data_seed: int = MISSING
    determinism: str = MISSING  # ganaudit.utils.determinism modes
    paths: PathsSchema = MISSING
    meta: Dict[str, Any] = field(default_factory=dict)  # free-form provenance of experiments


# ----------------------------------------------------------------------------- evaluate, run_study
@dataclass
class EvalPathsSchema:
    root: str = MISSING
    data: str = MISSING
    artifacts: str = MISSING


@dataclass
class EvaluateConfig:
    """``conf/evaluate.yaml``: scoring samples or a checkpoint outside training."""

    dataset: Optional[DatasetSchema] = None  # the group's option, or none (the checkpoint's own)
    samples: str = MISSING
    protocol: str = MISSING
    config: Optional[str] = MISSING
    paths: EvalPathsSchema = MISSING
    data_dir: Optional[str] = MISSING
    artifacts: str = MISSING
    record: str = MISSING
    device: str = MISSING
    samples_range: Optional[str] = MISSING
    trust_pickle: bool = False
    determinism: str = MISSING


@dataclass
class StudyTaskSchema:
    name: str = MISSING
    options: Dict[str, Any] = MISSING


@dataclass
class LaunchSchema:
    batch_size: int = MISSING
    gpus: Optional[int] = MISSING


@dataclass
class RunStudyConfig:
    """``conf/run_study.yaml``: a study (its ``study`` node is checked by ``ganaudit.study.spec``)."""

    study: Dict[str, Any] = MISSING
    results_dir: str = MISSING
    determinism: str = MISSING
    study_task: StudyTaskSchema = MISSING
    launch: LaunchSchema = MISSING
    plan: bool = MISSING
    hparam_keys: Dict[str, str] = MISSING
    study_job: Dict[str, Any] = MISSING


# group -> {option name -> schema}; the option named base_<group> is the group's schema.
GROUP_SCHEMAS: dict[str, dict[str, type]] = {
    "loss": {"base_loss": LossSchema},
    "penalty": {"base_penalty": PenaltySchema},
    "norm": {"base_norm": NormSchema},
    "arch": {"base_arch": ArchSchema},
    "optim": {"base_optim": OptimSchema},
    "dataset": {"base_dataset": DatasetSchema, "base_celeba_hq": CelebAHQSchema},
    "trainer": {"base_trainer": TrainerSchema},
    "eval": {"base_eval": EvalSchema},
    "lightning": {"base_lightning": LightningSchema},
}
PRIMARY_SCHEMAS: dict[str, type] = {
    "base_config": TrainConfig,
    "base_evaluate": EvaluateConfig,
    "base_run_study": RunStudyConfig,
}


def register() -> None:
    """Store every schema in Hydra's ConfigStore (idempotent: storing again replaces the entry)."""
    store = ConfigStore.instance()
    for name, node in PRIMARY_SCHEMAS.items():
        store.store(name=name, node=node)
    for group, options in GROUP_SCHEMAS.items():
        for name, node in options.items():
            store.store(group=group, name=name, node=node)


# ------------------------------------------------------------------------------------ unknown keys
def _schema_of(node: Any) -> type | None:
    """The dataclass a composed node was made from, or None (a free-form mapping)."""
    kind = OmegaConf.get_type(node) if isinstance(node, DictConfig) else None
    return kind if kind is not None and dataclasses.is_dataclass(kind) else None


def schema_paths(kind: type, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every key a schema allows (a group's schema with the fields of its subclasses)."""
    hints = typing.get_type_hints(kind)
    for f in dataclasses.fields(kind):
        path = f"{prefix}{f.name}"
        child = hints[f.name]
        child = next((a for a in typing.get_args(child) if a is not type(None)), child)  # Optional[X] -> X
        if dataclasses.is_dataclass(child):
            seen: set[str] = set()
            for sub in (child, *child.__subclasses__()):
                seen.update(schema_paths(sub, path + "."))
            yield from sorted(seen)
        else:
            yield path


def unknown_keys(node: DictConfig, prefix: str = "") -> List[str]:
    """Dotted paths of keys in ``node`` that its schema does not have (e.g. added with ``+key=``).

    Nodes without a schema (``meta``, ``logger``, ``callbacks``) are free-form; Hydra's own ``hydra``
    node is not checked."""
    kind = _schema_of(node)
    if kind is None:
        return []
    allowed = {f.name for f in dataclasses.fields(kind)} | ({"hydra"} if not prefix else set())
    out = []
    for key in node.keys():
        path = f"{prefix}{key}"
        if key not in allowed:
            out.append(path)
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
            out.extend(unknown_keys(child, path + "."))
    return out


register()
