"""LeakyReLU and ReLU with vectorized CPU kernels where ATen runs its scalar ones: the same bits, faster.

Portable mode starts torch with ``ATEN_CPU_CAPABILITY=default`` (ganaudit.utils.determinism), which
also gives elementwise ops ATen's generic scalar kernels; LeakyReLU's forward and backward were then
about 16 ms of the demo's 140-175 ms step, ReLU's backward 2 ms (benchmarks/RESULTS.md). Each output
of LeakyReLU is one compare and at most one IEEE multiply, and of ReLU's backward a compare and a
select, whatever the instruction set, so a vectorized kernel gives ATen's bits exactly
(:mod:`ganaudit.axes.fixed_kernels`: numba, no fast-math); they are used for CPU float tensors while
ATen's capability is ``DEFAULT`` (ReLU's forward stays ATen's, it is cheap). Elsewhere (fast mode,
GPUs, other dtypes) these are PyTorch's. A double backward (gradient penalties) runs ATen's
differentiable backward.
tests/axes/test_activations.py checks the bits against ATen's kernels, special values included.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganaudit.axes.fixed_conv import kernels

__all__ = ["LeakyReLU", "ReLU", "leaky_relu", "relu", "uses_numba_kernel"]


@cache
def _aten_scalar() -> bool:
    """True when ATen runs its generic (scalar) CPU kernels: fixed when torch is imported."""
    return torch.backends.cpu.get_cpu_capability() == "DEFAULT"


def uses_numba_kernel(x: Tensor) -> bool:
    """Whether :func:`leaky_relu` and :func:`relu` take the numba kernels for ``x`` (not while
    ``torch.jit.trace`` records a model: a traced graph keeps ATen's ops, which it can save)."""
    return (x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and _aten_scalar()
            and not torch.jit.is_tracing())


def _flat(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().view(-1).numpy()


class _LeakyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, slope: float) -> Tensor:
        out, xs = torch.empty_like(x, memory_format=torch.contiguous_format), _flat(x)
        kernels().leaky_relu(xs, xs.dtype.type(slope), _flat(out))  # the slope rounded to x's dtype, as ATen
        ctx.save_for_backward(x)
        ctx.slope = slope
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a differentiable backward
            return torch.ops.aten.leaky_relu_backward(grad, x, ctx.slope, False), None
        out, xs = torch.empty_like(x, memory_format=torch.contiguous_format), _flat(x)
        kernels().leaky_relu_backward(xs, _flat(grad), xs.dtype.type(ctx.slope), _flat(out))
        return out, None


class _ReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        out = torch.relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        (out,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a differentiable backward
            return torch.ops.aten.threshold_backward(grad, out, 0)
        gx = torch.empty_like(out, memory_format=torch.contiguous_format)
        kernels().relu_backward(_flat(out), _flat(grad), _flat(gx))
        return gx


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``F.leaky_relu(x, negative_slope)``, the same bits; the numba kernel where :func:`uses_numba_kernel`."""
    if uses_numba_kernel(x):
        return _LeakyReLU.apply(x, float(negative_slope))
    return F.leaky_relu(x, negative_slope)


class LeakyReLU(nn.LeakyReLU):
    """``nn.LeakyReLU`` through :func:`leaky_relu` (not in place)."""

    def forward(self, input: Tensor) -> Tensor:
        if self.inplace:
            return super().forward(input)
        return leaky_relu(input, self.negative_slope)


def relu(x: Tensor) -> Tensor:
    """``torch.relu(x)``, the same bits; its backward on the numba kernel where :func:`uses_numba_kernel`."""
    return _ReLU.apply(x) if uses_numba_kernel(x) else torch.relu(x)


class ReLU(nn.ReLU):
    """``nn.ReLU`` through :func:`relu` (not in place)."""

    def forward(self, input: Tensor) -> Tensor:
        return super().forward(input) if self.inplace else relu(input)
