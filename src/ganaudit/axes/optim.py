"""Adam as the study ran it (TF1 ``tf.train.AdamOptimizer``), and a registry of Adam implementations.

The study ([V2] ``gans_with_penalty.get_optimizer``) used TF1's Adam. Its update for step t (1-based),
in the parameter's dtype (float32), is

    m_t = m + (g - m)(1 - b1)                 v_t = v + (g^2 - v)(1 - b2)
    alpha_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
    theta  -= alpha_t * m_t / (sqrt(v_t) + eps)

with ``b1^t``, ``b2^t`` kept as float32 running products (TF's ``beta1_power``/``beta2_power``). So
eps is added to the *uncorrected* sqrt(v_t). PyTorch's ``torch.optim.Adam`` adds eps to the
bias-corrected sqrt(v_t / (1 - b2^t)), i.e. TF's eps is PyTorch's ``eps * sqrt(1 - b2^t)``: the two
differ by up to ~25% per step while |g| is near eps (first steps, saturated D).

    ADAM_IMPLS.get("tf1")(params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)   # the study (default)
    ADAM_IMPLS.get("torch")(params, ...)                                   # torch.optim.Adam

Config: ``optim.impl`` (``tf1`` | ``torch``) in ``conf/optim/adam.yaml``; part of the config hash.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch

from ganaudit.utils.registry import Registry

__all__ = ["TF1Adam", "ADAM_IMPLS", "make_adam"]

ADAM_IMPLS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optim.impl")


def _f32(x: float) -> np.float32:
    return np.float32(x)


class TF1Adam(torch.optim.Optimizer):
    """TF1 ``AdamOptimizer`` (see module docstring); float32 scalars as TF computes them.

    State per parameter: ``m``, ``v`` (like the parameter), ``step`` (int, updates done),
    ``beta1_power``, ``beta2_power`` (python floats holding the float32 b1^t, b2^t of the next step,
    kept on the host so no device sync is needed). Deterministic (elementwise ``torch._foreach_*``
    ops only); checkpoint-safe (tensors, ints and floats load with ``weights_only=True``).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        if not lr > 0 or not eps > 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"TF1Adam: need lr > 0, eps > 0, betas in [0, 1); got {lr}, {eps}, {betas}")
        super().__init__(params, dict(lr=float(lr), betas=tuple(float(b) for b in betas), eps=float(eps)))

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update_group(params, group)
        return loss

    def _state(self, p: torch.Tensor, b1: np.float32, b2: np.float32) -> dict:
        state = self.state[p]
        if not state:
            state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] = 0
            state["beta1_power"], state["beta2_power"] = float(b1), float(b2)  # TF initializes them to b1, b2
        return state

    def _update_group(self, params: list[torch.Tensor], group: dict) -> None:
        lr, (b1, b2), eps = _f32(group["lr"]), map(_f32, group["betas"]), _f32(group["eps"])
        one = np.float32(1.0)
        states = [self._state(p, b1, b2) for p in params]
        grads = [p.grad for p in params]
        ms, vs = [s["m"] for s in states], [s["v"] for s in states]
        # m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2)
        diff = torch._foreach_sub(grads, ms)
        torch._foreach_mul_(diff, float(one - b1))
        torch._foreach_add_(ms, diff)
        sq = torch._foreach_mul(grads, grads)
        torch._foreach_sub_(sq, vs)
        torch._foreach_mul_(sq, float(one - b2))
        torch._foreach_add_(vs, sq)
        # theta -= (m * alpha_t) / (sqrt(v) + eps), alpha_t in float32 from the running powers
        alphas = [float(lr * np.sqrt(one - _f32(s["beta2_power"])) / (one - _f32(s["beta1_power"])))
                  for s in states]
        upd = torch._foreach_mul(ms, alphas)
        denom = torch._foreach_sqrt(vs)
        torch._foreach_add_(denom, float(eps))
        torch._foreach_div_(upd, denom)
        torch._foreach_sub_(params, upd)
        for s in states:
            s["step"] += 1
            s["beta1_power"] = float(_f32(s["beta1_power"]) * b1)
            s["beta2_power"] = float(_f32(s["beta2_power"]) * b2)


@ADAM_IMPLS.register("tf1")
def _tf1(params: Iterable, *, lr: float, betas: tuple[float, float], eps: float) -> torch.optim.Optimizer:
    """The study's Adam: eps on the uncorrected sqrt(v_t) (TF1 ``AdamOptimizer``)."""
    return TF1Adam(params, lr=lr, betas=betas, eps=eps)


@ADAM_IMPLS.register("torch")
def _torch(params: Iterable, *, lr: float, betas: tuple[float, float], eps: float) -> torch.optim.Optimizer:
    """PyTorch's Adam: eps on the bias-corrected sqrt(v_t / (1 - b2^t))."""
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)


def make_adam(impl: str, params: Iterable, *, lr: float, betas: tuple[float, float],
              eps: float) -> torch.optim.Optimizer:
    """An Adam optimizer with the named update rule (``tf1`` | ``torch``); ConfigError if unknown."""
    return ADAM_IMPLS.get(impl)(params, lr=lr, betas=betas, eps=eps)
