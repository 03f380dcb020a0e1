"""Rebuild a generator from a reviewer's file, with what the file says about its run.

    gen, info = load_generator(Path("runs/<run>/checkpoints/last.ckpt"))
    gen(z [B, z_dim] ~ U(-1, 1)) -> images [B, 3, R, R] in [0, 1];  gen is in eval mode, on the CPU
    info == {"config_hash", "seed", "step", "run_id", "dataset", "config", "z_dim", "format"}  (None if unknown)

Accepted files, tried in this order:

* a TorchScript generator (``torch.jit.save``), e.g. exported from another framework;
* a Lightning checkpoint written by ganaudit's training (``last.ckpt`` or ``dstep-NNNNNNN.ckpt``): G is
  rebuilt from ``checkpoint["hyper_parameters"]`` and its ``generator.*`` weights, loaded with
  ``weights_only=True`` (no code from the file runs);
* a generator ``state_dict`` (``{name: tensor}``, with or without a ``generator.`` prefix) together
  with ``config``: a run's ``config.yaml`` (or a dict of the same shape) naming arch, norm, width, z_dim,
  init and the dataset's resolution;
* a pickled ``nn.Module`` (``torch.save(generator)``): unpickling can run any code the file names, so
  such a file is refused unless the caller opts in (``trust_pickle=True``; on the command line
  ``trust_pickle=true`` for ``evaluate``, ``--trust-pickle`` for ``audit verdict`` / ``audit explain``).
  Nothing in the file runs before that opt-in: every file is first read with ``weights_only=True``.

Any other content is a DataError naming the file and the accepted formats.
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch
from omegaconf import OmegaConf
from torch import nn

from ganaudit.axes.archs import ARCHS
from ganaudit.utils.confighash import config_hash_of, semantic_part, verify_embedded
from ganaudit.utils.errors import CheckpointError, ConfigError, DataError

__all__ = ["load_generator", "generator_from_lightning", "generator_from_state_dict", "is_lightning_checkpoint",
           "load_weights_only", "needs_unpickling", "untrusted_pickle_error"]

PREFIX = "generator."
FORMATS = ("a TorchScript generator, a ganaudit Lightning checkpoint (runs/<run>/checkpoints/*.ckpt), "
           "a generator state_dict with config=<run>/config.yaml, or a pickled nn.Module")


PICKLE_RISK = ("a pickle can run arbitrary code; pass trust_pickle=true (audit commands: --trust-pickle) only "
               "for files you made or trust, or export the generator as TorchScript (torch.jit.save) or as a "
               "state_dict with config=<run>/config.yaml")


def needs_unpickling(exc: BaseException) -> bool:
    """Whether ``torch.load(..., weights_only=True)`` failed because the file names code to run (a full
    pickle), rather than because it is truncated or not a torch file."""
    text = str(exc)
    return isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in text and \
        ("GLOBAL " in text or "Unsupported global" in text)  # else: a corrupt stream ("Unsupported operand")


def untrusted_pickle_error(path: Path, exc: BaseException) -> ConfigError:
    """The refusal of a file that only loads by full unpickling, naming what it would call."""
    names = sorted(set(re.findall(r"GLOBAL ([\w.]+)", str(exc))))
    what = f" (it names {', '.join(names)})" if names else ""
    return ConfigError(f"checkpoint '{path}' loads only by full unpickling{what}, and {PICKLE_RISK}")


def load_weights_only(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU: tensors, containers and plain values; nothing in
    the file runs. Raises what torch raises (see :func:`needs_unpickling`)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def is_lightning_checkpoint(obj: Any) -> bool:
    """Whether ``obj`` (a loaded checkpoint) is a Lightning checkpoint with saved hyperparameters."""
    return isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict) and "hyper_parameters" in obj


def _build(path: Path, arch: str, resolution: int, norm: str, width: float, z_dim: int, init: str,
           conv_kernels: str, weights: Mapping[str, torch.Tensor]) -> nn.Module:
    """G of the given architecture with ``weights`` loaded strictly; the global RNG is left untouched.
    ``conv_kernels``: the run's (its FIDs were computed with them)."""
    with torch.random.fork_rng(devices=[]):  # building initializes weights from the global RNG
        gen, _ = ARCHS.get(arch).build(int(resolution), str(norm), float(width), int(z_dim), str(init),
                                       str(conv_kernels))
    try:
        gen.load_state_dict(dict(weights), strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"checkpoint '{path}': generator weights do not fit arch '{arch}' (width {width}, "
                        f"z_dim {z_dim}, resolution {resolution}): {first}") from None
    gen.z_dim = int(z_dim)
    return gen.eval()


def _generator_weights(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """``generator.*`` entries with the prefix removed, or all entries when none has the prefix."""
    prefixed = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    return prefixed or {k: v for k, v in state.items() if not k.startswith("discriminator.")}


def _run_id(path: Path) -> str | None:
    """``<run>`` for ``.../<run>/checkpoints/<file>``, else None."""
    return path.parent.parent.name if path.parent.name == "checkpoints" else None


def generator_from_lightning(ckpt: dict, path: Path) -> tuple[nn.Module, dict]:
    """G and its run info from a loaded ganaudit Lightning checkpoint (see module docstring)."""
    hp = dict(ckpt["hyper_parameters"])
    missing = {"arch", "resolution", "norm", "width", "z_dim"} - set(hp)
    if missing:
        raise DataError(f"checkpoint '{path}' lacks hyperparameters {sorted(missing)}; expected one written "
                        "by ganaudit's training (GANModule)")
    extra = ckpt.get("ganaudit") or {}
    config = extra.get("config")
    verify_embedded(extra, str(path))  # the stored hash is recomputed from the stored config on every read
    if config is not None:
        _check_hyperparameters(hp, config, path)
    gen = _build(path, hp["arch"], hp["resolution"], hp["norm"], hp["width"], hp["z_dim"], hp.get("init", "v2"),
                 hp.get("conv_kernels", "aten"), _generator_weights(ckpt["state_dict"]))
    return gen, {"format": "lightning", "config_hash": extra.get("config_hash"), "seed": extra.get("seed"),
                 "step": extra.get("d_step"), "run_id": _run_id(path), "z_dim": int(hp["z_dim"]),
                 "config": config, "dataset": (config or {}).get("dataset", {}).get("name")}


def _check_hyperparameters(hp: Mapping[str, Any], config: Mapping[str, Any], path: Path) -> None:
    """CheckpointError when the hyperparameters G is rebuilt from disagree with the checkpoint's own config."""
    arch = config.get("arch") or {}
    expected = {"arch": arch.get("name"), "norm": (config.get("norm") or {}).get("name"),
                "resolution": arch.get("resolution") or (config.get("dataset") or {}).get("resolution"),
                "width": arch.get("width"), "z_dim": arch.get("z_dim"),
                "conv_kernels": arch.get("conv_kernels", "aten")}
    for key, want in expected.items():
        have = hp.get(key, "aten") if key == "conv_kernels" else hp.get(key)
        if want is not None and have != want:
            raise CheckpointError(f"checkpoint '{path}': hyperparameter {key} = {have!r} but its embedded "
                                  f"config says {want!r}; the file was edited after training, expected an "
                                  "unmodified ganaudit checkpoint")


def _first_difference(given: Any, own: Any, key: str = "") -> str | None:
    """The first key path (``loss.name``) where two plain configs differ, or None when they are equal."""
    if isinstance(given, Mapping) and isinstance(own, Mapping):
        for k in sorted(set(given) | set(own), key=str):
            found = _first_difference(given.get(k, "<absent>"), own.get(k, "<absent>"), f"{key}.{k}" if key else str(k))
            if found:
                return found
        return None
    return None if given == own else f"{key} = {given!r} (checkpoint: {own!r})"


def _check_same_run(info: dict, config: str | Path | Mapping, path: Path) -> None:
    """ConfigError when ``config`` (given beside a run checkpoint) is not the configuration that trained it:
    its config hash must be the one of the config the checkpoint carries (``checkpoint["ganaudit"]["config"]``);
    keys that do not change the training (paths, seed, loggers) may differ."""
    own = info.get("config")
    if own is None:  # a checkpoint without its configuration: nothing to compare with
        return
    given = _read_config(config)
    if config_hash_of(given) != config_hash_of(own):  # paths, seed and other unhashed keys may differ
        differs = _first_difference(semantic_part(given), semantic_part(own))
        raise ConfigError(f"option 'config' = '{config}' differs at {differs}, but checkpoint '{path}' was "
                          f"trained under configuration {info.get('config_hash')} (seed {info.get('seed')}); "
                          "expected that run's own config.yaml, or no config option (a run checkpoint carries "
                          "its configuration)")


def _read_config(config: str | Path | Mapping) -> dict:
    """A run's resolved config as a plain dict, from a YAML file or a mapping."""
    if isinstance(config, Mapping):
        return dict(config)
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f"option 'config' = '{path}': no such file; expected a run's config.yaml "
                          "(runs/<run>/config.yaml)")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def generator_from_state_dict(state: Mapping[str, Any], config: str | Path | Mapping,
                              path: Path) -> tuple[nn.Module, dict]:
    """G from a bare generator ``state_dict`` and the run config that describes it."""
    cfg = _read_config(config)
    try:
        arch, norm = cfg["arch"], cfg["norm"]["name"]
        resolution = arch.get("resolution") or cfg["dataset"]["resolution"]
        args = (arch["name"], resolution, norm, arch.get("width", 1.0), arch.get("z_dim", 128), arch.get("init", "v2"),
                arch.get("conv_kernels", "aten"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"option 'config': missing {exc} in {config!s}; expected a run's config.yaml with "
                          "arch.name, arch.width, arch.z_dim, norm.name and dataset.resolution") from None
    gen = _build(path, *args, weights=_generator_weights(state))
    return gen, {"format": "state_dict", "config_hash": None, "seed": cfg.get("seed"), "step": None,
                 "run_id": _run_id(path), "z_dim": int(args[4]), "config": cfg,
                 "dataset": (cfg.get("dataset") or {}).get("name")}


def _is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip holding compiled ``code/``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in n for n in archive.namelist())


def load_generator_checkpoint(path: Path, *, trust_pickle: bool = False) -> nn.Module:
    """A generator from a TorchScript file or, with ``trust_pickle``, a pickled ``nn.Module``; without it
    a file that needs full unpickling is refused (ConfigError naming the risk and the opt-in)."""
    if _is_torchscript(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path), map_location="cpu")
    if not trust_pickle:
        try:
            obj = load_weights_only(path)
        except Exception as exc:
            if needs_unpickling(exc):
                raise untrusted_pickle_error(path, exc) from None
            raise DataError(f"checkpoint '{path}' cannot be read by torch.load ({type(exc).__name__}); expected "
                            f"{FORMATS}") from None
        raise DataError(f"checkpoint '{path}' holds a {type(obj).__name__}, not a generator module; expected "
                        f"{FORMATS}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)  # the caller trusts this file
    except Exception as exc:
        raise DataError(f"checkpoint '{path}' cannot be read by torch.load: {exc}") from exc
    if isinstance(obj, dict) and isinstance(obj.get("generator"), nn.Module):
        obj = obj["generator"]
    if not isinstance(obj, nn.Module):
        raise DataError(f"checkpoint '{path}' holds a {type(obj).__name__}; expected a TorchScript generator, "
                        "a pickled nn.Module, or a dict with a 'generator' nn.Module")
    return obj


def load_generator(path: str | Path, config: str | Path | Mapping | None = None, *,
                   trust_pickle: bool = False) -> tuple[nn.Module, dict]:
    """``(generator in eval mode on the CPU, run info)`` from any accepted file (module docstring).

    ``trust_pickle``: allow a file that loads only by full unpickling (a pickled ``nn.Module``), which
    can run any code; without it such a file is a ConfigError naming the risk and the opt-in."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint '{path}': no such file; expected {FORMATS}")
    if _is_torchscript(path):
        gen = load_generator_checkpoint(path)
        return gen.eval(), _unknown("torchscript", path, gen)
    try:
        obj = load_weights_only(path)
    except Exception as exc:
        if not needs_unpickling(exc):
            raise DataError(f"checkpoint '{path}' cannot be read by torch.load ({type(exc).__name__}: truncated, "
                            f"corrupt or another format); expected {FORMATS}") from None
        if not trust_pickle:  # nothing of the file has run yet
            raise untrusted_pickle_error(path, exc) from None
        gen = load_generator_checkpoint(path, trust_pickle=True)
        return gen.eval(), _unknown("pickle", path, gen)
    if is_lightning_checkpoint(obj):
        gen, info = generator_from_lightning(obj, path)
        if config is not None:
            _check_same_run(info, config, path)
        return gen, info
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        if config is None:
            raise ConfigError(f"checkpoint '{path}' is a bare state_dict; pass config=<run>/config.yaml "
                              "(the run configuration that built it)")
        return generator_from_state_dict(obj, config, path)
    raise DataError(f"checkpoint '{path}' holds a {type(obj).__name__} of no known layout; expected {FORMATS}")


def _unknown(fmt: str, path: Path, gen: nn.Module) -> dict:
    z_dim = getattr(gen, "z_dim", None)
    return {"format": fmt, "config_hash": None, "seed": None, "step": None, "run_id": _run_id(path),
            "z_dim": int(z_dim) if z_dim is not None else None, "config": None, "dataset": None}
