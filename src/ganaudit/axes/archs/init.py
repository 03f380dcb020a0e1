"""Weight initializers (spec §4 "Initializers"), chosen by scheme: ``arch.init`` = ``v2`` | ``v3``.

Every weight layer is built with a *role* that names which [V2] op created it:

| role            | [V2] op / where                         | ``v2`` (study, default)            | ``v3``        |
|-----------------|-----------------------------------------|------------------------------------|---------------|
| ``linear``      | ``linear`` (all fc layers)              | normal(0, .02)                     | normal(0,.02) |
| ``conv``        | ``conv2d`` (ResNet convs, final G conv) | trunc-normal(.02) cut at ±.04 (2σ) | normal(0,.02) |
| ``deconv``      | ``deconv2d`` (SNDCGAN G)                | normal(0, .02)                     | normal(0,.02) |
| ``sn_conv``     | SNDCGAN D convs (passed explicitly)     | normal(0, .02)                     | normal(0,.02) |

Biases are zero; BN/LN gamma 1, beta 0 (PyTorch's defaults, left untouched).
Initialize *before* wrapping a layer with spectral norm. Draws use torch's global RNG.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from ganaudit.utils.registry import Registry

__all__ = ["INITS", "ROLES", "init_layer"]

STD = 0.02
ROLES = ("linear", "conv", "deconv", "sn_conv")


def _normal(w: Tensor) -> None:
    nn.init.normal_(w, mean=0.0, std=STD)


def _trunc_normal(w: Tensor) -> None:
    # TF truncated_normal(stddev=.02): re-draw outside ±2 stddev of the *untruncated* normal.
    nn.init.trunc_normal_(w, mean=0.0, std=STD, a=-2 * STD, b=2 * STD)


Scheme = dict[str, Callable[[Tensor], None]]
INITS: Registry[Scheme] = Registry("arch.init")
INITS.register("v2")({"linear": _normal, "conv": _trunc_normal, "deconv": _normal, "sn_conv": _normal})
INITS.register("v3")({role: _normal for role in ROLES})


def init_layer(layer: nn.Module, role: str, scheme: str = "v2") -> nn.Module:
    """Initialize ``layer.weight`` per ``scheme``/``role`` and zero its bias, in place; returns it."""
    if role not in ROLES:
        raise ValueError(f"unknown init role '{role}'; expected one of {ROLES}")
    INITS.get(scheme)[role](layer.weight.data)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer
