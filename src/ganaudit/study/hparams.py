"""Hyperparameter modes of a study (spec §5.2-§5.4): the fixed Table-1 grid and wide-range random sampling.

A *setting* is a dict ``{"lr", "beta1", "beta2", "n_dis"[, "lambda"]}``; ``lambda`` is present only
when the configuration has a penalty. Bayesian optimisation lives in :mod:`ganaudit.study.bo`.

Units: ``n_dis`` is D updates per G update; learning rates are Adam step sizes shared by D and G.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping

import numpy as np

from ganaudit.utils.errors import ConfigError

#: ICML Table 1 ([P3-T1], spec §5.2): 3 lr × 2 λ × 4 (β1, β2, n_dis) = 24 settings.
TABLE1 = {
    "lr": [2e-4, 1e-4, 1e-3],
    "lambda": [1.0, 10.0],
    "beta1_beta2_ndis": [[0.5, 0.9, 5], [0.5, 0.999, 1], [0.5, 0.999, 5], [0.9, 0.999, 5]],
}

#: ICML Table 2 ([P3-T2], spec §5.3): wide ranges; lr and λ log-uniform, β1 and β2 uniform.
TABLE2 = {
    "lr": [1e-5, 1e-2],
    "lambda": {"l2": [1e-4, 1e1], "default": [1e-1, 1e2]},
    "beta1": [0.0, 1.0],
    "beta2": [0.0, 1.0],
    "n_dis": [1, 5],
}

PARAM_ORDER = ("lr", "beta1", "beta2", "n_dis", "lambda")


def setting_id(setting: Mapping[str, Any]) -> str:
    """A stable, readable id of a setting, e.g. ``lr=0.0002,beta1=0.5,beta2=0.9,n_dis=5,lambda=1``."""
    parts = []
    for name in PARAM_ORDER:
        if name in setting and setting[name] is not None:
            value = setting[name]
            parts.append(f"{name}={int(value) if name == 'n_dis' else format(float(value), '.4g')}")
    return ",".join(parts)


def lambda_range(penalty: str, spec: Mapping[str, Any] | None = None) -> tuple[float, float] | None:
    """The log-uniform λ range for ``penalty`` (None: no penalty, λ unused). L2 has its own range."""
    if penalty in (None, "none"):
        return None
    ranges = (spec or {}).get("lambda") or TABLE2["lambda"]
    lo, hi = ranges.get(penalty, ranges["default"])
    return float(lo), float(hi)


def grid_settings(penalty: str, spec: Mapping[str, Any] | None = None) -> list[dict]:
    """The fixed grid (default: ICML Table 1) for a configuration whose penalty is ``penalty``.

    With a penalty: every (lr, λ, (β1, β2, n_dis)) combination, 24 for Table 1. Without a penalty λ is
    unused (spec §5.2, *Derived*); ``dedupe_unpenalized: true`` (default) drops it and keeps the 12
    distinct settings, ``false`` keeps all 24 and passes λ to the run anyway (as two runs that differ
    only in an unused value, like the released best-model lists). UNCONFIRMED which the authors did.
    """
    spec = dict(spec or {})
    lrs = spec.get("lr", TABLE1["lr"])
    lams = spec.get("lambda", TABLE1["lambda"])
    triples = spec.get("beta1_beta2_ndis", TABLE1["beta1_beta2_ndis"])
    dedupe = bool(spec.get("dedupe_unpenalized", True))
    for t in triples:
        if len(t) != 3:
            raise ConfigError(f"study.hparams.grid.beta1_beta2_ndis entry {list(t)} must be [beta1, beta2, n_dis]")
    with_lambda = penalty not in (None, "none") or not dedupe
    out = []
    for lr, lam, (b1, b2, nd) in itertools.product(lrs, lams if with_lambda else [None], triples):
        s = {"lr": float(lr), "beta1": float(b1), "beta2": float(b2), "n_dis": int(nd)}
        if lam is not None:
            s["lambda"] = float(lam)
        out.append(s)
    return out


def _check_range(name: str, lo: float, hi: float, log: bool) -> None:
    if not (lo <= hi) or (log and lo <= 0):
        raise ConfigError(f"study.hparams.random.{name}: range [{lo}, {hi}] must have lo <= hi"
                          + (" and lo > 0 (log scale)" if log else ""))


def random_unit_samples(n: int, seed: int) -> np.ndarray:
    """``[n, 5]`` uniform [0,1) draws (lr, β1, β2, n_dis, λ columns) from ``numpy.random.default_rng(seed)``."""
    if n < 1:
        raise ConfigError(f"study.hparams.random.n must be >= 1, got {n}")
    return np.random.default_rng(int(seed)).random((int(n), 5))


def random_settings(penalty: str, spec: Mapping[str, Any] | None = None) -> list[dict]:
    """``spec['n']`` wide-range settings (default Table 2 ranges), seeded by ``spec['seed']``.

    lr and λ are log-uniform (uniform in log10), β1 and β2 uniform, n_dis uniform over the listed values.
    All configurations of a study share the same unit draws (common random numbers), so settings differ
    across configurations only in the λ range of their penalty.
    """
    spec = dict(spec or {})
    lr_lo, lr_hi = map(float, spec.get("lr", TABLE2["lr"]))
    b1_lo, b1_hi = map(float, spec.get("beta1", TABLE2["beta1"]))
    b2_lo, b2_hi = map(float, spec.get("beta2", TABLE2["beta2"]))
    ndis = [int(v) for v in spec.get("n_dis", TABLE2["n_dis"])]
    _check_range("lr", lr_lo, lr_hi, True)
    _check_range("beta1", b1_lo, b1_hi, False)
    _check_range("beta2", b2_lo, b2_hi, False)
    lam = lambda_range(penalty, spec)
    u = random_unit_samples(int(spec.get("n", 24)), int(spec.get("seed", 0)))
    out = []
    for row in u:
        s = {
            "lr": _log_uniform(row[0], lr_lo, lr_hi),
            "beta1": b1_lo + row[1] * (b1_hi - b1_lo),
            "beta2": b2_lo + row[2] * (b2_hi - b2_lo),
            "n_dis": ndis[min(int(row[3] * len(ndis)), len(ndis) - 1)],
        }
        if lam is not None:
            s["lambda"] = _log_uniform(row[4], *lam)
        out.append(s)
    return out


def _log_uniform(u: float, lo: float, hi: float) -> float:
    """Map u in [0,1) to [lo, hi) uniformly in log10 space."""
    return float(10 ** (math.log10(lo) + u * (math.log10(hi) - math.log10(lo))))


def setting_overrides(setting: Mapping[str, Any], keys: Mapping[str, str]) -> list[str]:
    """Hydra overrides for a setting, e.g. ``optim.lr=0.0002``; ``keys`` maps param -> config path."""
    out = []
    for name in PARAM_ORDER:
        if name in setting and setting[name] is not None:
            if name not in keys:
                raise ConfigError(f"study.hparam_keys has no entry for '{name}'; "
                                  f"expected a config path such as optim.{name}")
            value = setting[name]
            out.append(f"{keys[name]}={int(value) if name == 'n_dis' else repr(float(value))}")
    return out
