"""LeakyReLU and ReLU on numba kernels where ATen runs its scalar ones (ganaudit.axes.activations): ATen's
bits exactly (hand-derived values, ATen's own kernels in this process and under portable mode's
``ATEN_CPU_CAPABILITY=default``), gradients and double backward, and where the kernels are used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganaudit.axes import activations as act

REPO = Path(__file__).resolve().parents[2]
SPECIALS = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e-45, -1e-45, -3.0e38, 7.5, -2.5]


@pytest.fixture
def numba_path(monkeypatch):
    """The kernels as portable mode uses them, whatever this process's ATen capability."""
    monkeypatch.setattr(act, "_aten_scalar", lambda: True)


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().view(torch.int32 if t.dtype == torch.float32 else torch.int64)


def _values(dtype: torch.dtype, n: int = 5000) -> torch.Tensor:
    x = torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=dtype) * 3
    x[: len(SPECIALS)] = torch.tensor(SPECIALS, dtype=dtype)
    return x.view(5, 10, 100)


def _fwd_bwd(f, x: torch.Tensor, grad: torch.Tensor):
    x = x.clone().requires_grad_()
    y = f(x)
    (gx,) = torch.autograd.grad(y, x, grad)
    return y, gx


def _same_bits(ours, ref, x: torch.Tensor, grad: torch.Tensor) -> bool:
    """Forward values and input gradients of ``ours`` and ``ref`` equal bit for bit (shapes included)."""
    (y, gx), (ry, rgx) = _fwd_bwd(ours, x, grad), _fwd_bwd(ref, x, grad)
    return y.shape == ry.shape and all(torch.equal(_bits(a), _bits(b)) for a, b in ((y, ry), (gx, rgx)))


def test_hand_derived_values(numba_path):
    x = torch.tensor([2.0, -3.0, 0.0, -0.0, -1.0], requires_grad=True)
    y = act.leaky_relu(x, 0.25)
    assert y.grad_fn.name().endswith("_LeakyReLUBackward")  # the numba path, not ATen's
    assert _bits(y).tolist() == _bits(torch.tensor([2.0, -0.75, 0.0, -0.0, -0.25])).tolist()  # -0.0 kept
    (gx,) = torch.autograd.grad(y, x, torch.tensor([1.0, 1.0, 4.0, 4.0, -2.0]))
    assert gx.tolist() == [1.0, 0.25, 1.0, 1.0, -0.5]  # slope where x <= 0 (0 and -0 included)
    r = act.relu(x)
    assert r.grad_fn.name().endswith("_ReLUBackward")
    (gr,) = torch.autograd.grad(r, x, torch.tensor([5.0, 5.0, 5.0, 5.0, 5.0]))
    assert gr.tolist() == [5.0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("slope", [0.1, 0.2, 0.01])
def test_leaky_relu_has_atens_bits(numba_path, dtype, slope):
    """``slope`` rounded to the tensor's dtype, as ATen does (0.1 and 0.2 are not exact in float32)."""
    x, grad = _values(dtype), _values(dtype).flip(0)
    assert _same_bits(lambda t: act.leaky_relu(t, slope), lambda t: F.leaky_relu(t, slope), x, grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relu_has_atens_bits(numba_path, dtype):
    x, grad = _values(dtype), _values(dtype).flip(0)
    assert _same_bits(act.relu, torch.relu, x, grad)


def test_non_contiguous_inputs_and_gradients(numba_path):
    x = _values(torch.float32).transpose(0, 2)  # [100, 10, 5], not contiguous
    grad = _values(torch.float32).flip(1).transpose(0, 2)
    assert not x.is_contiguous() and not grad.is_contiguous()
    assert _same_bits(lambda t: act.leaky_relu(t, 0.1), lambda t: F.leaky_relu(t, 0.1), x, grad)
    assert _same_bits(act.relu, torch.relu, x, grad)


def test_double_backward_is_atens_and_passes_gradgradcheck(numba_path):
    x = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t: act.leaky_relu(t, 0.2), (x,))
    assert torch.autograd.gradgradcheck(act.relu, (x,))
    w = torch.randn(7, 7, dtype=torch.float64, requires_grad=True)

    def penalty_grad(f):  # a gradient penalty's shape: ||d f(x W) / dx||, then its gradient w.r.t. W
        (gx,) = torch.autograd.grad(f(x @ w).square().sum(), x, create_graph=True)
        return torch.autograd.grad(gx.norm(), w)[0]

    assert torch.equal(penalty_grad(lambda t: act.leaky_relu(t, 0.1)), penalty_grad(lambda t: F.leaky_relu(t, 0.1)))
    assert torch.equal(penalty_grad(act.relu), penalty_grad(torch.relu))


def test_layers_and_where_the_kernels_are_used(monkeypatch):
    lrelu, relu = act.LeakyReLU(0.1), act.ReLU()
    assert isinstance(lrelu, nn.LeakyReLU) and isinstance(relu, nn.ReLU)
    x = torch.randn(4, 5, requires_grad=True)
    monkeypatch.setattr(act, "_aten_scalar", lambda: False)  # fast mode: ATen's vectorized kernels
    assert lrelu(x).grad_fn.name() == "LeakyReluBackward0" and relu(x).grad_fn.name() == "ReluBackward0"
    monkeypatch.setattr(act, "_aten_scalar", lambda: True)
    assert lrelu(x).grad_fn.name().endswith("_LeakyReLUBackward") and relu(x).grad_fn.name().endswith("_ReLUBackward")
    assert not act.uses_numba_kernel(x.to(torch.bfloat16)) and not act.uses_numba_kernel(x.half())
    traced = torch.jit.trace(nn.Sequential(act.LeakyReLU(0.1), act.ReLU()), x.detach())  # ATen's ops, savable
    assert "aten::leaky_relu" in str(traced.inlined_graph) and "aten::relu" in str(traced.inlined_graph)
    assert torch.equal(traced(x.detach()), F.relu(F.leaky_relu(x.detach(), 0.1)))
    assert act.LeakyReLU(0.1, inplace=True)(x.detach().clone()).equal(F.leaky_relu(x.detach(), 0.1))


def _portable_check() -> dict:
    """In portable mode's process: whether the numba path is taken, and whether it equals ATen's
    generic (scalar) kernels bit for bit."""
    out = {"capability": torch.backends.cpu.get_cpu_capability(), "numba": act.uses_numba_kernel(torch.zeros(1))}
    x, grad = _values(torch.float32), _values(torch.float32).flip(0)
    out["equal"] = (_same_bits(lambda t: act.leaky_relu(t, 0.1), lambda t: F.leaky_relu(t, 0.1), x, grad)
                    and _same_bits(act.relu, torch.relu, x, grad))
    return out


def test_under_portable_mode_the_kernels_are_used_and_equal_atens_scalar_ones():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "ganaudit.determinism", "exec", "--", sys.executable,
                           str(Path(__file__))], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"capability": "DEFAULT", "numba": True, "equal": True}


if __name__ == "__main__":  # the portable-mode subprocess above
    print(json.dumps(_portable_check()))
