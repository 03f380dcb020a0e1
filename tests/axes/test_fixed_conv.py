"""The fixed-order convolutions (ganaudit.axes.fixed_conv): exact term order, PyTorch's values, the same bits
whatever instruction set numba compiles for, and portable mode's switch."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganaudit.axes import fixed_conv as fc
from ganaudit.axes import fixed_kernels as fk
from ganaudit.utils.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _sequence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` as the documented term sequence, evaluated by numpy: c = (...((0 + a0*b0) + a1*b1) ...)."""
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        c = c + a[:, k:k + 1] * b[k:k + 1, :]  # one rounded product, then one rounded sum, per term
    return c


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (4, 4, 256), (7, 150, 300), (19, 3, 513), (9, 1030, 17),
                                     (6, 300, 8), (13, 70, 16), (11, 33, 29), (9, 40, 64), (5, 7, 63), (3, 2, 65)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_is_the_term_sequence_bit_for_bit(m, k, n, dtype):
    """The streaming loop (more than NARROW_COLUMNS columns, or float64): row blocks of 4 and 1, k unrolled
    by 4 with a remainder, column blocks of 256 with a remainder; the register tiles (float32, at most
    NARROW_COLUMNS columns): 4x16 and 8x8 tiles with row remainders, single rows of 8, and the last
    ``n % 8`` columns."""
    rng = np.random.default_rng(m * 1000 + k)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    c = np.zeros((m, n), dtype)
    fk.gemm_acc(a, b, c)
    assert np.array_equal(c, _sequence(a, b))
    assert np.allclose(c, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_gemm_adds_into_c_in_the_documented_order():
    """``C += A @ B`` (not ``C = ...``), and the order is a real choice: in float32 1e8 + 1 is 1e8, so
    the sequence 1e8, 1, 1, 1, 1, -1e8 sums to 0 term by term (4 exactly, or pairwise)."""
    a = np.array([[1e8, 1.0, 1.0, 1.0, 1.0, -1e8], [1.0, 1.0, 1.0, 1.0, 1e8, -1e8]], np.float32)
    c = np.full((2, 1), 0.5, np.float32)
    fk.gemm_acc(a, np.ones((6, 1), np.float32), c)
    assert c[0, 0] == 0.0  # ((0.5 + 1e8) + 1 + ...) - 1e8: every small term lost
    assert c[1, 0] == 8.0  # 0.5 + 4 = 4.5 kept; 4.5 + 1e8 rounds to the float32 1e8 + 8; then - 1e8
    c = np.full((1, 3), 2.0, np.float32)
    fk.gemm_acc(np.ones((1, 2), np.float32), np.ones((2, 3), np.float32), c)
    assert np.array_equal(c, [[4.0, 4.0, 4.0]])  # added to what C held


def test_conv2d_by_hand():
    """A 1-channel 3x3 image, a 2x2 kernel, stride 1, padding 1: each output is the sum of the overlapped
    products, written out."""
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    y = fc.conv2d(x, w, torch.tensor([0.5]), stride=1, padding=1)
    # output (0,0) sees only x[0,0] under w[1,1]: 4*1; (1,1) sees x[0:2,0:2]: 1*1 + 2*2 + 3*4 + 4*5 = 37
    assert y.shape == (1, 1, 4, 4)
    assert y[0, 0, 0, 0] == 4.5 and y[0, 0, 1, 1] == 37.5 and y[0, 0, 3, 3] == 9.5
    assert y[0, 0, 2, 1] == 1 * 4 + 2 * 5 + 3 * 7 + 4 * 8 + 0.5


def _assert_same_values_and_gradients(y, ref, inputs, gen, min_grad: float = 0.0):
    """``y`` and PyTorch's ``ref`` agree within float32 rounding, and so do their gradients w.r.t.
    ``inputs`` for one random output gradient (each of PyTorch's larger than ``min_grad`` somewhere)."""
    assert y.shape == ref.shape
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
    grad = torch.randn(y.shape, generator=gen)
    for mine, theirs in zip(torch.autograd.grad(y, inputs, grad), torch.autograd.grad(ref, inputs, grad), strict=True):
        assert theirs.abs().max() > min_grad
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-4)


CASES = [  # (n, c, h, o, k, stride, padding, dilation)
    (2, 3, 9, 5, 3, 1, 1, 1), (3, 4, 8, 6, 4, 2, 1, 1), (2, 2, 7, 3, 3, 2, 0, 1), (1, 3, 10, 4, 3, 1, 2, 2),
    (2, 5, 5, 8, 1, 1, 0, 1),
]


@pytest.mark.parametrize("n, c, h, o, k, s, p, d", CASES)
def test_conv2d_matches_pytorch_values_and_gradients(n, c, h, o, k, s, p, d):
    g = torch.Generator().manual_seed(n * 100 + h)
    x = torch.randn(n, c, h, h, generator=g, requires_grad=True)
    w = torch.randn(o, c, k, k, generator=g, requires_grad=True)
    b = torch.randn(o, generator=g, requires_grad=True)
    y, ref = fc.conv2d(x, w, b, s, p, d), F.conv2d(x, w, b, s, p, d)
    assert ref.abs().max() > 1.0
    _assert_same_values_and_gradients(y, ref, (x, w, b), g, min_grad=0.1)


@pytest.mark.parametrize("n, ci, h, co, k, s, p, op", [(2, 6, 4, 3, 4, 2, 1, 0), (2, 4, 8, 3, 3, 1, 1, 0),
                                                        (1, 3, 5, 2, 3, 2, 1, 1), (2, 2, 3, 4, 2, 3, 0, 0)])
def test_conv_transpose2d_matches_pytorch_values_and_gradients(n, ci, h, co, k, s, p, op):
    g = torch.Generator().manual_seed(ci * 10 + h)
    x = torch.randn(n, ci, h, h, generator=g, requires_grad=True)
    w = torch.randn(ci, co, k, k, generator=g, requires_grad=True)
    b = torch.randn(co, generator=g, requires_grad=True)
    y, ref = fc.conv_transpose2d(x, w, b, s, p, op), F.conv_transpose2d(x, w, b, s, p, op)
    _assert_same_values_and_gradients(y, ref, (x, w, b), g)


def test_gradients_and_double_backward_are_right_in_float64():
    """gradcheck (the backward against finite differences) and gradgradcheck (the double backward that
    gradient penalties take, through PyTorch's differentiable convolution backward)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    wt = torch.randn(3, 2, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    bt = torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: fc.conv2d(*a, stride=2, padding=1), (x, w, b))
    assert torch.autograd.gradgradcheck(lambda *a: fc.conv2d(*a, stride=2, padding=1), (x, w, b))
    assert torch.autograd.gradcheck(lambda *a: fc.conv_transpose2d(*a, stride=2, padding=1), (x, wt, bt))
    assert torch.autograd.gradgradcheck(lambda *a: fc.conv_transpose2d(*a, stride=2, padding=1), (x, wt, bt))


def test_a_penalty_gradient_through_the_fixed_path_matches_pytorchs():
    """WGAN-GP's ||d D(x) / d x|| with create_graph, then its gradient w.r.t. the weights."""
    g = torch.Generator().manual_seed(5)
    w = torch.randn(4, 3, 3, 3, generator=g, requires_grad=True)
    x = torch.randn(2, 3, 6, 6, generator=g, requires_grad=True)

    def penalty_grad(conv):
        (gx,) = torch.autograd.grad(conv(x, w, None, 1, 1).square().sum(), x, create_graph=True)
        return torch.autograd.grad(gx.norm(), w)[0]

    torch.testing.assert_close(penalty_grad(fc.conv2d), penalty_grad(F.conv2d), rtol=1e-5, atol=1e-5)


def _state_digest() -> str:
    """Forward and backward of both layer types (fixed inputs) on the fixed path, and the activations'
    kernels, as one digest."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 8, 12, 12, generator=g, requires_grad=True)
    w, b = torch.randn(16, 8, 4, 4, generator=g, requires_grad=True), torch.randn(16, generator=g, requires_grad=True)
    wt = torch.randn(8, 5, 4, 4, generator=g, requires_grad=True)
    y, yt = fc.conv2d(x, w, b, 2, 1), fc.conv_transpose2d(x, wt, None, 2, 1)
    grads = torch.autograd.grad((y * torch.randn(y.shape, generator=g)).sum()
                                + (yt * torch.randn(yt.shape, generator=g)).sum(), (x, w, b, wt))
    # the activations' kernels (ganaudit.axes.activations) on the same values
    flat, gflat = y.detach().reshape(-1).numpy(), torch.randn(y.numel(), generator=g).numpy()
    acts = [np.empty_like(flat) for _ in range(3)]
    fk.leaky_relu(flat, np.float32(0.1), acts[0])
    fk.leaky_relu_backward(flat, gflat, np.float32(0.1), acts[1])
    fk.relu_backward(flat, gflat, acts[2])
    h = hashlib.sha256()
    for t in (y, yt, *grads):
        h.update(t.detach().numpy().tobytes())
    for a in acts:
        h.update(a.tobytes())
    return h.hexdigest()


if __name__ == "__main__":  # the subprocess of the instruction-set test
    print(json.dumps({"digest": _state_digest(), "registers": fk.machine_code_features()}))


# NUMBA_CPU_NAME alone keeps the host's features; both name the target (what LLVM may emit)
TARGETS = {"x86-64": {"NUMBA_CPU_NAME": "x86-64", "NUMBA_CPU_FEATURES": "+sse2"},
           "haswell": {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+sse4.2,+avx,+avx2,+fma"}}


@pytest.mark.determinism
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_same_bits_whatever_instruction_set_numba_compiles_for(target, tmp_path):
    """Compiled for baseline x86-64 (SSE2 only) or for Haswell (AVX2 + FMA), in a fresh process with its
    own cache, the layers give this process's bits (compiled for this CPU; AVX-512 on our machines). The
    code really differs: 128-bit registers only, or 256-bit ones; no fused multiply-add anywhere."""
    env = {**os.environ, **TARGETS[target], "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, str(Path(__file__))], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    regs = theirs["registers"]
    assert regs["xmm"] and not regs["zmm"] and not regs["fma"]
    assert regs["ymm"] == (target == "haswell")
    assert theirs["digest"] == _state_digest()
    assert not fk.machine_code_features()["fma"]


def test_layers_take_the_fixed_path_only_when_set():
    torch.manual_seed(0)
    conv, plain = fc.Conv2d(3, 4, 3, stride=2, padding=1), nn.Conv2d(3, 4, 3, stride=2, padding=1)
    plain.load_state_dict(conv.state_dict())
    assert isinstance(conv, nn.Conv2d) and conv.state_dict().keys() == plain.state_dict().keys()
    x = torch.randn(2, 3, 9, 9)
    assert conv.conv_kernels == "aten" and torch.equal(conv(x), plain(x))  # PyTorch's own path, bit for bit
    fc.set_conv_kernels(conv, "fixed_order")
    assert torch.equal(conv(x), fc.conv2d(x, conv.weight, conv.bias, 2, 1))
    assert type(conv(x).grad_fn).__name__ == "_Conv2dBackward"  # the fixed path, not PyTorch's
    deconv = fc.set_conv_kernels(fc.ConvTranspose2d(3, 2, 4, stride=2, padding=1), "fixed_order")
    assert torch.equal(deconv(x), fc.conv_transpose2d(x, deconv.weight, deconv.bias, 2, 1))
    # output_size asks for PyTorch's path
    assert torch.equal(deconv(x, output_size=[18, 18]), F.conv_transpose2d(x, deconv.weight, deconv.bias, 2, 1))


def test_build_sets_the_kernels_on_every_conv_and_refuses_unknown_ones():
    from ganaudit.axes.archs import ARCHS

    for arch, res in (("sndcgan", 32), ("resnet_cifar", 32)):
        g, d = ARCHS.get(arch).build(res, "spectral", 0.125, 16, "v2", "fixed_order")
        layers = [m for net in (g, d) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        assert layers and {m.conv_kernels for m in layers} == {"fixed_order"}
        g, d = ARCHS.get(arch).build(res, "spectral", 0.125, 16, "v2")
        assert {m.conv_kernels for net in (g, d) for m in net.modules() if isinstance(m, nn.Conv2d)} == {"aten"}
    with pytest.raises(ConfigError, match=r"option 'arch.conv_kernels' = 'mkl': expected one of aten, fixed_order"):
        ARCHS.get("sndcgan").build(32, "spectral", 0.125, 16, "v2", "mkl")


def test_the_option_keeps_earlier_hashes_and_is_refused_on_a_gpu():
    from ganaudit.training.config import compose, config_hash, validate

    base = ["dataset=digits", "arch.width=0.125"]
    assert config_hash(compose(base)) == config_hash(compose([*base, "arch.conv_kernels=aten"]))
    assert config_hash(compose(base)) != config_hash(compose([*base, "arch.conv_kernels=fixed_order"]))
    validate(compose([*base, "arch.conv_kernels=fixed_order", "trainer.accelerator=cpu"]))
    with pytest.raises(ConfigError, match=r"'arch.conv_kernels' = 'fixed_order' with trainer.accelerator=gpu"):
        validate(compose([*base, "arch.conv_kernels=fixed_order", "trainer.accelerator=gpu"]))
    with pytest.raises(ConfigError, match=r"'arch.conv_kernels' = 'mkl': expected one of aten, fixed_order"):
        validate(compose([*base, "arch.conv_kernels=mkl"]))


def _im2col(x: np.ndarray, k: int, s: int, p: int, d: int, ho: int, wo: int) -> np.ndarray:
    """``[C*k*k, N*ho*wo]``: row (c, i, j), column (n, oy, ox), zero outside ``x`` (numpy, by hand)."""
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * p + k * d, w + 2 * p + k * d), x.dtype)
    padded[:, :, p:p + h, p:p + w] = x
    rows = [padded[:, ci, i * d:i * d + s * ho:s, j * d:j * d + s * wo:s].reshape(-1)
            for ci in range(c) for i in range(k) for j in range(k)]
    return np.stack(rows)


def _col2im(cols: np.ndarray, shape, k: int, s: int, p: int, d: int, ho: int, wo: int) -> np.ndarray:
    """The adjoint of :func:`_im2col`: each row (c, i, j) added onto its pixels, rows in order."""
    n, c, h, w = shape
    padded = np.zeros((n, c, h + 2 * p + k * d, w + 2 * p + k * d), cols.dtype)
    r = 0
    for ci in range(c):
        for i in range(k):
            for j in range(k):
                padded[:, ci, i * d:i * d + s * ho:s, j * d:j * d + s * wo:s] += cols[r].reshape(n, ho, wo)
                r += 1
    return padded[:, :, p:p + h, p:p + w]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c, h, o, k, s, p, d", [(3, 3, 7, 10, 3, 1, 1, 1), (2, 4, 8, 17, 4, 2, 1, 1),
                                                    (2, 2, 9, 8, 3, 2, 2, 2), (4, 5, 4, 70, 2, 1, 0, 1)])
def test_convolutions_are_im2col_and_the_term_sequence_bit_for_bit(n, c, h, o, k, s, p, d, dtype):
    """Sample by sample in the kernels, yet each output is the one-batch recipe's bits, computed here by
    numpy: the forward ``W @ im2col(x)``, the input gradient ``col2im(W^T @ grad)`` (pixels summed in
    the order (c, i, j)), the weight gradient ``im2col(x) @ grad`` with terms in the order (n, oy, ox);
    the transposed convolution the same with the roles swapped. Output channels of 10, 17 and 70 take
    the register tiles (8 + 2 columns, 16 + 1, none: more than NARROW_COLUMNS) and the streaming loop."""
    rng = np.random.default_rng(n * 1000 + o)
    x = rng.standard_normal((n, c, h, h)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    ho = (h + 2 * p - d * (k - 1) - 1) // s + 1
    grad = rng.standard_normal((n, o, ho, ho)).astype(dtype)
    xt, wt, gradt = (torch.from_numpy(a).requires_grad_(a is not grad) for a in (x, w, grad))
    y = fc.conv2d(xt, wt, None, s, p, d)
    gx, gw = torch.autograd.grad(y, (xt, wt), gradt)

    def batch_first(t):  # [O, (n, oy, ox)] -> [N, O, oy, ox]
        return t.reshape(t.shape[0], n, ho, ho).transpose(1, 0, 2, 3)

    cols = _im2col(x, k, s, p, d, ho, ho)
    g = grad.transpose(1, 0, 2, 3).reshape(o, -1)  # [O, (n, oy, ox)]
    assert np.array_equal(y.detach().numpy(), batch_first(_sequence(w.reshape(o, -1), cols)))
    assert np.array_equal(gx.numpy(), _col2im(_sequence(w.reshape(o, -1).T.copy(), g), x.shape, k, s, p, d, ho, ho))
    assert np.array_equal(gw.numpy(), _sequence(cols, g.T.copy()).T.reshape(w.shape))

    if d == 1:  # the transposed convolution from grad's shape back to x's (the adjoint geometry)
        w2 = rng.standard_normal((o, c, k, k)).astype(dtype)  # [Ci, Co, k, k]
        xin, win = torch.from_numpy(grad).requires_grad_(), torch.from_numpy(w2).requires_grad_()
        yt = fc.conv_transpose2d(xin, win, None, s, p)
        out_grad = rng.standard_normal(tuple(yt.shape)).astype(dtype)
        gxt, gwt = torch.autograd.grad(yt, (xin, win), torch.from_numpy(out_grad))
        gcols = _im2col(out_grad, k, s, p, 1, ho, ho)  # [Co*k*k, (n, oy, ox)]
        assert np.array_equal(yt.detach().numpy(), _col2im(_sequence(w2.reshape(o, -1).T.copy(), g), yt.shape,
                                                           k, s, p, 1, ho, ho))
        assert np.array_equal(gxt.numpy(), batch_first(_sequence(w2.reshape(o, -1), gcols)))
        assert np.array_equal(gwt.numpy(), _sequence(gcols, g.T.copy()).T.reshape(w2.shape))
