"""Fixed-order convolutions: the same bits on any x86-64 CPU, and faster than portable mode's PyTorch path.

A convolution is an im2col (a copy), a matrix product, and a col2im (sums in a fixed loop order).
Portable mode runs PyTorch's, whose product is MKL's SSE2 branch (``MKL_CBWR=COMPATIBLE``): its bits do
not depend on the CPU, its speed is that of 2004. Here all three are numba loops
(ganaudit.axes.fixed_kernels), run one sample at a time in cache, the product being
:func:`~ganaudit.axes.fixed_kernels.gemm_acc`, whose every output is the float32 sequence
``(...((0 + a[0]*b[0]) + a[1]*b[1]) + ...)``, one IEEE multiply and one IEEE add per term in order
(a weight gradient's terms in the order (n, oy, ox)), vectorized across outputs only and compiled
without fast-math: the same bits whatever instruction set numba compiles for (SSE2, AVX2, AVX-512),
checked by tests/axes/test_fixed_conv.py against numpy evaluating that sequence and against
baseline-x86-64 and Haswell builds. Timings: benchmarks/bench_fixed_order_conv.py (RESULTS.md).

Chosen per run by ``arch.conv_kernels`` (``aten``, the default: PyTorch's; ``fixed_order``: these), set
on every :class:`Conv2d` / :class:`ConvTranspose2d` of a model by :func:`set_conv_kernels`. These are
``nn.Conv2d`` / ``nn.ConvTranspose2d`` (same parameters, state dicts and ``isinstance``); they take the
fixed-order path on CPU float tensors with groups 1 and zero padding, and PyTorch's otherwise (GPUs
included). A double backward (gradient penalties, ``create_graph=True``) runs PyTorch's differentiable
convolution backward (in portable mode, MKL's SSE2 branch: also the same bits on every CPU).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import Tensor, nn

from ganaudit.utils.errors import ConfigError

__all__ = ["CONV_KERNELS", "conv2d", "conv_transpose2d", "Conv2d", "ConvTranspose2d", "set_conv_kernels",
           "kernels"]

CONV_KERNELS = ("aten", "fixed_order")


@cache
def kernels():
    """The compiled kernels module (numba is imported, and the kernels compiled or loaded, on first use)."""
    from ganaudit.axes import fixed_kernels

    return fixed_kernels


def _np(t: Tensor) -> np.ndarray:
    """A C-contiguous numpy view of a CPU tensor (a copy only when it is not contiguous)."""
    return t.detach().contiguous().numpy()


def _geometry(k_hw, stride, padding, dilation, out_hw) -> tuple[int, ...]:
    """The im2col / col2im arguments ``(kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)``."""
    return (*k_hw, *stride, *padding, *dilation, *out_hw)


def _bias(out: Tensor, bias: Tensor | None) -> Tensor:
    """``out`` (a new tensor of this module's) plus ``bias`` per channel, in place."""
    return out if bias is None else out.add_(bias.view(1, -1, 1, 1))


def _zeros_if(needed: bool, shape, dtype: torch.dtype) -> Tensor:
    """A zero tensor of ``shape`` for a gradient the kernel fills, or one zero of the same rank (the kernel's
    argument types stay the same; it does not touch an output it is told is not needed)."""
    return torch.zeros(shape if needed else (1,) * len(shape), dtype=dtype)


def _flat(t: Tensor) -> np.ndarray:
    """``[N, C, H, W]`` as a C-contiguous numpy ``[N, C, H*W]`` (a view when ``t`` is contiguous)."""
    return _np(t).reshape(t.shape[0], t.shape[1], -1)


class _Conv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):
        n, _, h, w = x.shape
        o, _, kh, kw = weight.shape
        ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        geo = _geometry((kh, kw), stride, padding, dilation, (ho, wo))
        out = torch.zeros(n, o, ho, wo, dtype=x.dtype)
        kernels().conv2d_forward(_np(x), _np(weight.reshape(o, -1)), *geo, out.numpy().reshape(n, o, -1))
        ctx.save_for_backward(x, weight, bias)
        ctx.conf = (stride, padding, dilation, geo)
        return _bias(out, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias = ctx.saved_tensors
        stride, padding, dilation, geo = ctx.conf
        if torch.is_grad_enabled():  # create_graph: a differentiable backward (gradient penalties)
            return (*_aten_backward(ctx, grad, x, weight, bias, False, stride, padding, dilation, (0, 0)),
                    None, None, None)
        o = weight.shape[0]
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gx = _zeros_if(need_x, x.shape, x.dtype)
        gwt = _zeros_if(need_w, (weight[0].numel(), o), x.dtype)  # grad weight^T [C*kh*kw, O]
        if need_x or need_w:
            kernels().conv2d_backward(_np(x), _np(weight.reshape(o, -1).t()), _flat(grad), *geo, gx.numpy(),
                                      gwt.numpy(), need_x, need_w)
        gb = grad.sum((0, 2, 3)) if bias is not None and ctx.needs_input_grad[2] else None
        return (gx if need_x else None), (gwt.t().reshape(weight.shape) if need_w else None), gb, None, None, None


class _ConvTranspose2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, dilation):
        n, ci, h, w = x.shape
        _, co, kh, kw = weight.shape
        ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
        wo = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
        geo = _geometry((kh, kw), stride, padding, dilation, (h, w))  # of the conv it is the adjoint of
        out = torch.zeros(n, co, ho, wo, dtype=x.dtype)
        kernels().conv_transpose2d_forward(_flat(x), _np(weight.reshape(ci, -1).t()), *geo, out.numpy())
        ctx.save_for_backward(x, weight, bias)
        ctx.conf = (stride, padding, output_padding, dilation, geo)
        return _bias(out, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias = ctx.saved_tensors
        stride, padding, output_padding, dilation, geo = ctx.conf
        if torch.is_grad_enabled():
            return (*_aten_backward(ctx, grad, x, weight, bias, True, stride, padding, dilation, output_padding),
                    None, None, None, None)
        ci = x.shape[1]
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gx = _zeros_if(need_x, x.shape, x.dtype)
        gwt = _zeros_if(need_w, (weight[0].numel(), ci), x.dtype)  # grad weight^T [Co*kh*kw, Ci]
        if need_x or need_w:
            kernels().conv_transpose2d_backward(_flat(x), _np(weight.reshape(ci, -1)), _np(grad), *geo,
                                                gx.numpy().reshape(gx.shape[0], gx.shape[1], -1), gwt.numpy(),
                                                need_x, need_w)
        gb = grad.sum((0, 2, 3)) if bias is not None and ctx.needs_input_grad[2] else None
        return ((gx if need_x else None), (gwt.t().reshape(weight.shape) if need_w else None), gb,
                None, None, None, None)


def _aten_backward(ctx, grad, x, weight, bias, transposed, stride, padding, dilation, output_padding):
    """PyTorch's (differentiable) convolution backward: (grad x, grad weight, grad bias)."""
    mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], bias is not None and ctx.needs_input_grad[2]]
    gx, gw, gb = torch.ops.aten.convolution_backward(
        grad, x, weight, None if bias is None else [bias.shape[0]], list(stride), list(padding), list(dilation),
        transposed, list(output_padding), 1, mask)
    return gx, gw, gb


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _fixed_dtype(*tensors: Tensor | None) -> bool:
    return all(t is None or (t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64))
               for t in tensors)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1) -> Tensor:
    """``F.conv2d`` (groups 1, numeric padding) on the fixed-order path: ``x [N, C, H, W]``,
    ``weight [O, C, kh, kw]`` -> ``[N, O, Ho, Wo]``."""
    return _Conv2d.apply(x, weight, bias, _pair(stride), _pair(padding), _pair(dilation))


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, dilation=1) -> Tensor:
    """``F.conv_transpose2d`` (groups 1) on the fixed-order path: ``x [N, Ci, H, W]``,
    ``weight [Ci, Co, kh, kw]`` -> ``[N, Co, Ho, Wo]``."""
    return _ConvTranspose2d.apply(x, weight, bias, _pair(stride), _pair(padding), _pair(output_padding),
                                  _pair(dilation))


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` that takes the fixed-order path on CPU when its ``conv_kernels`` is ``fixed_order``."""

    conv_kernels = "aten"

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if (self.conv_kernels == "fixed_order" and self.groups == 1 and self.padding_mode == "zeros"
                and not isinstance(self.padding, str) and _fixed_dtype(input, weight, bias)):
            return conv2d(input, weight, bias, self.stride, self.padding, self.dilation)
        return super()._conv_forward(input, weight, bias)


class ConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` that takes the fixed-order path on CPU when its ``conv_kernels`` is
    ``fixed_order`` (and no ``output_size`` is asked for)."""

    conv_kernels = "aten"

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        if (self.conv_kernels == "fixed_order" and self.groups == 1 and output_size is None
                and _fixed_dtype(input, self.weight, self.bias)):
            return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                    self.output_padding, self.dilation)
        return super().forward(input, output_size)


def set_conv_kernels(module: nn.Module, conv_kernels: str) -> nn.Module:
    """Set ``conv_kernels`` (one of CONV_KERNELS) on every :class:`Conv2d` / :class:`ConvTranspose2d` in
    ``module``; returns ``module``. ConfigError naming ``arch.conv_kernels`` for another value."""
    if conv_kernels not in CONV_KERNELS:
        raise ConfigError(f"option 'arch.conv_kernels' = {conv_kernels!r}: expected one of {', '.join(CONV_KERNELS)}")
    for m in module.modules():
        if isinstance(m, (Conv2d, ConvTranspose2d)):
            m.conv_kernels = conv_kernels
    return module
