"""The fixed-order kernels of ganaudit.axes.fixed_conv (and the elementwise ones of
ganaudit.axes.activations), compiled by numba for the CPU at hand.

Imported on first use (numba starts in ~0.5 s and compiles these in a few seconds the first time; the
machine code is cached beside this file, or in numba's user cache when this folder is read-only, per
CPU model and instruction set). Every output of :func:`gemm_acc` is the float32 sequence
``(...((c + a[0]*b[0]) + a[1]*b[1]) + ...) + a[K-1]*b[K-1]``: one IEEE multiply then one IEEE add per
term, k in order. The loops vectorize across output columns only, and numba compiles without fast-math
(no reassociation, no fused multiply-add), so SSE2, AVX2 and AVX-512 builds give the same bits.

Products with few output columns (a convolution's weight gradient: 3 to 64 columns, thousands of terms)
run on register tiles: LLVM does not vectorize the column loop when it is that short, so those tiles
hold eight float32 columns in one explicit vector value (``F32x8``, LLVM's ``<8 x float>``), updated by
an IEEE multiply and then an IEEE add per lane (:func:`vmuladd`). A lane is one output's own sequence,
so the bits are the scalar loop's: SSE2 builds split each vector into two 128-bit halves, AVX2 and
AVX-512 builds use one 256-bit register.

The convolutions (:func:`conv2d_forward`, :func:`conv2d_backward` and their transposed pair) run one
sample at a time: its im2col, the product, its col2im, each small enough to stay in cache, written
straight into the sample's slice of the output. A weight gradient accumulates sample after sample into
one ``C``, so its terms come in the order (n, oy, ox), the order of one product over the whole batch.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

__all__ = ["gemm_acc", "conv2d_forward", "conv2d_backward", "conv_transpose2d_forward",
           "conv_transpose2d_backward", "leaky_relu", "leaky_relu_backward", "relu_backward", "COLUMN_BLOCK",
           "NARROW_COLUMNS"]

COLUMN_BLOCK = 256  # output columns per pass of the streaming product (their rows of C and B stay in L1/L2)
NARROW_COLUMNS = 64  # float32 products with at most this many columns run on register tiles
_JIT = dict(cache=True, fastmath=False, boundscheck=False, nogil=True, error_model="numpy")


# --- eight float32 lanes as one value (LLVM <8 x float>) -------------------------------------------------

class F32x8Type(types.Type):
    """Eight float32 lanes held as one LLVM vector value (a register, or two on SSE2)."""

    def __init__(self):
        super().__init__(name="f32x8")


f32x8 = F32x8Type()
_VEC = ir.VectorType(ir.FloatType(), 8)


@register_model(F32x8Type)
class _F32x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _lanes_pointer(context, builder, sig, args):
    """Pointer to ``arr[i, j]`` (the first of eight consecutive float32s), as a vector pointer."""
    aryty = sig.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:3], sig.args[1:3], strict=True)]
    ptr = cgutils.get_item_pointer2(context, builder, ary.data, cgutils.unpack_tuple(builder, ary.shape),
                                    cgutils.unpack_tuple(builder, ary.strides), aryty.layout, idx)
    return builder.bitcast(ptr, _VEC.as_pointer())


def _check_lanes_array(arr) -> None:
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.dtype == types.float32 and arr.layout == "C"):
        raise numba.core.errors.TypingError(f"expected a C-contiguous 2-d float32 array, got {arr}")


@intrinsic
def vload(typingctx, arr, i, j):
    """``arr[i, j:j+8]`` (2-d C-contiguous float32, ``j + 8 <= arr.shape[1]``) as one F32x8."""
    _check_lanes_array(arr)
    sig = f32x8(arr, i, j)

    def codegen(context, builder, sig, args):
        return builder.load(_lanes_pointer(context, builder, sig, args), align=4)

    return sig, codegen


@intrinsic
def vstore(typingctx, arr, i, j, value):
    """``arr[i, j:j+8] = value``."""
    _check_lanes_array(arr)
    sig = types.none(arr, i, j, value)

    def codegen(context, builder, sig, args):
        builder.store(args[3], _lanes_pointer(context, builder, sig, args), align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def vmuladd(typingctx, acc, a, b):
    """``acc + a * b`` per lane (``a`` a float32 scalar): an IEEE multiply, then an IEEE add; the LLVM
    instructions carry no fast-math flags, so they are neither fused nor reordered."""
    if acc != f32x8 or b != f32x8 or a != types.float32:
        raise numba.core.errors.TypingError(f"vmuladd(f32x8, float32, f32x8), got ({acc}, {a}, {b})")
    sig = f32x8(acc, a, b)

    def codegen(context, builder, sig, args):
        one = builder.insert_element(ir.Constant(_VEC, ir.Undefined), args[1], ir.Constant(ir.IntType(32), 0))
        splat = builder.shuffle_vector(one, ir.Constant(_VEC, ir.Undefined),
                                       ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8))
        return builder.fadd(args[0], builder.fmul(splat, args[2]))

    return sig, codegen


@numba.njit(**_JIT)
def _rows4(A, B, C, i, jb, je):
    """C[i:i+4, jb:je] += A[i:i+4] @ B[:, jb:je], four rows sharing each loaded row of B."""
    K = A.shape[1]
    n = je - jb
    c0, c1, c2, c3 = C[i, jb:je], C[i + 1, jb:je], C[i + 2, jb:je], C[i + 3, jb:je]
    k = 0
    while k + 4 <= K:
        a0, a1, a2, a3 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
        p0, p1, p2, p3 = A[i + 1, k], A[i + 1, k + 1], A[i + 1, k + 2], A[i + 1, k + 3]
        q0, q1, q2, q3 = A[i + 2, k], A[i + 2, k + 1], A[i + 2, k + 2], A[i + 2, k + 3]
        r0, r1, r2, r3 = A[i + 3, k], A[i + 3, k + 1], A[i + 3, k + 2], A[i + 3, k + 3]
        b0, b1, b2, b3 = B[k, jb:je], B[k + 1, jb:je], B[k + 2, jb:je], B[k + 3, jb:je]
        for j in range(n):
            x0, x1, x2, x3 = b0[j], b1[j], b2[j], b3[j]
            c0[j] = (((c0[j] + a0 * x0) + a1 * x1) + a2 * x2) + a3 * x3
            c1[j] = (((c1[j] + p0 * x0) + p1 * x1) + p2 * x2) + p3 * x3
            c2[j] = (((c2[j] + q0 * x0) + q1 * x1) + q2 * x2) + q3 * x3
            c3[j] = (((c3[j] + r0 * x0) + r1 * x1) + r2 * x2) + r3 * x3
        k += 4
    while k < K:
        a0, p0, q0, r0 = A[i, k], A[i + 1, k], A[i + 2, k], A[i + 3, k]
        b0 = B[k, jb:je]
        for j in range(n):
            x0 = b0[j]
            c0[j] = c0[j] + a0 * x0
            c1[j] = c1[j] + p0 * x0
            c2[j] = c2[j] + q0 * x0
            c3[j] = c3[j] + r0 * x0
        k += 1


@numba.njit(**_JIT)
def _row1(A, B, C, i, jb, je):
    """C[i, jb:je] += A[i] @ B[:, jb:je]."""
    K = A.shape[1]
    n = je - jb
    c0 = C[i, jb:je]
    k = 0
    while k + 4 <= K:
        a0, a1, a2, a3 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
        b0, b1, b2, b3 = B[k, jb:je], B[k + 1, jb:je], B[k + 2, jb:je], B[k + 3, jb:je]
        for j in range(n):
            c0[j] = (((c0[j] + a0 * b0[j]) + a1 * b1[j]) + a2 * b2[j]) + a3 * b3[j]
        k += 4
    while k < K:
        a0 = A[i, k]
        b0 = B[k, jb:je]
        for j in range(n):
            c0[j] = c0[j] + a0 * b0[j]
        k += 1


@numba.njit(**_JIT)
def _gemm_stream(A, B, C):
    """``C += A @ B`` streaming rows of B through column blocks of C (wide products)."""
    M = A.shape[0]
    N = B.shape[1]
    for jb in range(0, N, COLUMN_BLOCK):
        je = min(jb + COLUMN_BLOCK, N)
        i = 0
        while i + 4 <= M:
            _rows4(A, B, C, i, jb, je)
            i += 4
        while i < M:
            _row1(A, B, C, i, jb, je)
            i += 1


@numba.njit(**_JIT)
def _tile4x16(A, B, C, i, jb):
    """``C[i:i+4, jb:jb+16]`` accumulated over every k in registers (eight F32x8)."""
    c00, c01 = vload(C, i, jb), vload(C, i, jb + 8)
    c10, c11 = vload(C, i + 1, jb), vload(C, i + 1, jb + 8)
    c20, c21 = vload(C, i + 2, jb), vload(C, i + 2, jb + 8)
    c30, c31 = vload(C, i + 3, jb), vload(C, i + 3, jb + 8)
    for k in range(A.shape[1]):
        b0, b1 = vload(B, k, jb), vload(B, k, jb + 8)
        a = A[i, k]
        c00, c01 = vmuladd(c00, a, b0), vmuladd(c01, a, b1)
        a = A[i + 1, k]
        c10, c11 = vmuladd(c10, a, b0), vmuladd(c11, a, b1)
        a = A[i + 2, k]
        c20, c21 = vmuladd(c20, a, b0), vmuladd(c21, a, b1)
        a = A[i + 3, k]
        c30, c31 = vmuladd(c30, a, b0), vmuladd(c31, a, b1)
    vstore(C, i, jb, c00)
    vstore(C, i, jb + 8, c01)
    vstore(C, i + 1, jb, c10)
    vstore(C, i + 1, jb + 8, c11)
    vstore(C, i + 2, jb, c20)
    vstore(C, i + 2, jb + 8, c21)
    vstore(C, i + 3, jb, c30)
    vstore(C, i + 3, jb + 8, c31)


@numba.njit(**_JIT)
def _tile8x8(A, B, C, i, jb):
    """``C[i:i+8, jb:jb+8]`` accumulated over every k in registers (eight F32x8)."""
    c0, c1, c2, c3 = vload(C, i, jb), vload(C, i + 1, jb), vload(C, i + 2, jb), vload(C, i + 3, jb)
    c4, c5, c6, c7 = vload(C, i + 4, jb), vload(C, i + 5, jb), vload(C, i + 6, jb), vload(C, i + 7, jb)
    for k in range(A.shape[1]):
        b = vload(B, k, jb)
        c0, c1 = vmuladd(c0, A[i, k], b), vmuladd(c1, A[i + 1, k], b)
        c2, c3 = vmuladd(c2, A[i + 2, k], b), vmuladd(c3, A[i + 3, k], b)
        c4, c5 = vmuladd(c4, A[i + 4, k], b), vmuladd(c5, A[i + 5, k], b)
        c6, c7 = vmuladd(c6, A[i + 6, k], b), vmuladd(c7, A[i + 7, k], b)
    vstore(C, i, jb, c0)
    vstore(C, i + 1, jb, c1)
    vstore(C, i + 2, jb, c2)
    vstore(C, i + 3, jb, c3)
    vstore(C, i + 4, jb, c4)
    vstore(C, i + 5, jb, c5)
    vstore(C, i + 6, jb, c6)
    vstore(C, i + 7, jb, c7)


@numba.njit(**_JIT)
def _tile1x8(A, B, C, i, jb):
    """``C[i, jb:jb+8]`` accumulated over every k in one F32x8."""
    c = vload(C, i, jb)
    for k in range(A.shape[1]):
        c = vmuladd(c, A[i, k], vload(B, k, jb))
    vstore(C, i, jb, c)


@numba.njit(**_JIT)
def _gemm_tiles(A, B, C):
    """``C += A @ B`` for float32 products with few columns: 4x16 and 8x8 register tiles, single rows
    of 8, and the last ``N % 8`` columns one scalar sequence each."""
    M, K = A.shape
    N = B.shape[1]
    n16 = N - N % 16
    for jb in range(0, n16, 16):
        i = 0
        while i + 4 <= M:
            _tile4x16(A, B, C, i, jb)
            i += 4
        while i < M:
            _tile1x8(A, B, C, i, jb)
            _tile1x8(A, B, C, i, jb + 8)
            i += 1
    n8 = N - N % 8
    if n8 > n16:
        i = 0
        while i + 8 <= M:
            _tile8x8(A, B, C, i, n16)
            i += 8
        while i < M:
            _tile1x8(A, B, C, i, n16)
            i += 1
    for i in range(M):
        for j in range(n8, N):
            s = C[i, j]
            for k in range(K):
                s = s + A[i, k] * B[k, j]
            C[i, j] = s


def gemm_acc(A, B, C) -> None:
    """``C += A @ B`` in place (C-contiguous 2-d arrays of one float dtype, ``A [M, K]``, ``B [K, N]``,
    ``C [M, N]``), each ``C[i, j]`` accumulated term by term in the order k = 0..K-1 (module docstring):
    on register tiles for float32 with at most NARROW_COLUMNS columns, streamed otherwise (the same bits)."""
    if A.dtype == np.float32 and B.shape[1] <= NARROW_COLUMNS:
        _gemm_tiles(A, B, C)
    else:
        _gemm_stream(A, B, C)


def _gemm(A, B, C):
    """:func:`gemm_acc` inside compiled code (the overload below picks the kernel by dtype at compile time)."""
    gemm_acc(A, B, C)


@overload(_gemm, jit_options=dict(_JIT))
def _gemm_overload(A, B, C):
    if A.dtype == types.float32:
        def impl(A, B, C):
            if B.shape[1] <= NARROW_COLUMNS:
                _gemm_tiles(A, B, C)
            else:
                _gemm_stream(A, B, C)
        return impl

    def impl_stream(A, B, C):
        _gemm_stream(A, B, C)
    return impl_stream


def machine_code_features() -> dict[str, bool]:
    """Which vector registers (``xmm``, ``ymm``, ``zmm``) and whether fused multiply-adds (``fma``) the
    two product loops' machine code uses, as numba compiles them in this process: fresh compiles of the
    same source, so the answer is not a cached one (the tiles' helpers are compiled fresh too where the
    process has its own numba cache). For the instruction-set tests and benchmarks."""
    import re

    asm = ""
    for kernel, n in ((_gemm_stream, 300), (_gemm_tiles, 24)):
        fresh = numba.njit(fastmath=False, boundscheck=False, error_model="numpy")(kernel.py_func)
        fresh(np.ones((9, 6), np.float32), np.ones((6, n), np.float32), np.zeros((9, n), np.float32))
        asm += fresh.inspect_asm(fresh.signatures[0])
    return {reg: bool(re.search(rf"%{reg}\d", asm)) for reg in ("xmm", "ymm", "zmm")} | {
        "fma": bool(re.search(r"vfn?m(add|sub)", asm))}


@numba.njit(**_JIT)
def _im2col1(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """One sample: ``out [C*kh*kw, ho*wo]``, row ``(c, i, j)``, column ``(oy, ox)`` holds
    ``x[c, oy*sh - ph + i*dh, ox*sw - pw + j*dw]`` (0 outside ``x [C, H, W]``)."""
    c_, h_, w_ = x.shape
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for oy in range(ho):
                    iy = oy * sh - ph + i * dh
                    base = oy * wo
                    for ox in range(wo):
                        ix = ox * sw - pw + j * dw
                        inside = 0 <= iy < h_ and 0 <= ix < w_
                        out[r, base + ox] = x[c, iy, ix] if inside else 0.0


@numba.njit(**_JIT)
def _col2im1(cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """The adjoint of :func:`_im2col1`: ``out [C, H, W]`` += every ``cols`` entry at its pixel, in the
    order (c, i, j, oy, ox)."""
    c_, h_, w_ = out.shape
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for oy in range(ho):
                    iy = oy * sh - ph + i * dh
                    if 0 <= iy < h_:
                        base = oy * wo
                        for ox in range(wo):
                            ix = ox * sw - pw + j * dw
                            if 0 <= ix < w_:
                                out[c, iy, ix] += cols[r, base + ox]


@numba.njit(**_JIT)
def _transpose_into(a, out):
    """``out [L, O] = a [O, L]`` transposed."""
    for o in range(a.shape[0]):
        for p in range(a.shape[1]):
            out[p, o] = a[o, p]


@numba.njit(**_JIT)
def conv2d_forward(x, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """``out [N, O, ho*wo]`` (zeros on entry) += per sample ``w [O, C*kh*kw] @ im2col(x[n])``."""
    cols = np.empty((w.shape[1], ho * wo), x.dtype)
    for n in range(x.shape[0]):
        _im2col1(x[n], kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols)
        _gemm(w, cols, out[n])


@numba.njit(**_JIT)
def conv2d_backward(x, wt, grad, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, gx, gwt, need_x, need_w):
    """Per sample: ``gx[n]`` (zeros on entry, ``[C, H, W]``) += col2im(``wt [C*kh*kw, O] @ grad[n]``), and
    ``gwt [C*kh*kw, O]`` (zeros on entry) += ``im2col(x[n]) @ grad[n]^T``, samples in order (so the weight
    gradient's terms come in the order (n, oy, ox), as one product over the batch)."""
    ckk, o = wt.shape
    cols = np.empty((ckk, ho * wo), x.dtype)
    gt = np.empty((ho * wo, o), x.dtype)
    for n in range(x.shape[0]):
        if need_x:
            cols[:] = 0.0
            _gemm(wt, grad[n], cols)
            _col2im1(cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, gx[n])
        if need_w:
            _im2col1(x[n], kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols)
            _transpose_into(grad[n], gt)
            _gemm(cols, gt, gwt)


@numba.njit(**_JIT)
def conv_transpose2d_forward(x, wt, kh, kw, sh, sw, ph, pw, dh, dw, h, w, out):
    """``out [N, Co, Ho, Wo]`` (zeros on entry) += per sample col2im(``wt [Co*kh*kw, Ci] @ x[n]``), with
    ``x [N, Ci, h*w]`` (the adjoint of a convolution whose output is ``h x w``)."""
    cols = np.empty((wt.shape[0], h * w), x.dtype)
    for n in range(x.shape[0]):
        cols[:] = 0.0
        _gemm(wt, x[n], cols)
        _col2im1(cols, kh, kw, sh, sw, ph, pw, dh, dw, h, w, out[n])


@numba.njit(**_JIT)
def conv_transpose2d_backward(x, w, grad, kh, kw, sh, sw, ph, pw, dh, dw, h, wd, gx, gwt, need_x, need_w):
    """Per sample: ``gcols = im2col(grad[n])`` ``[Co*kh*kw, h*w]``; ``gx[n]`` (``[Ci, h*w]``, zeros on entry)
    += ``w [Ci, Co*kh*kw] @ gcols``; ``gwt [Co*kh*kw, Ci]`` (zeros on entry) += ``gcols @ x[n]^T``,
    samples in order."""
    ci, ckk = w.shape
    gcols = np.empty((ckk, h * wd), x.dtype)
    xt = np.empty((h * wd, ci), x.dtype)
    for n in range(x.shape[0]):
        _im2col1(grad[n], kh, kw, sh, sw, ph, pw, dh, dw, h, wd, gcols)
        if need_x:
            _gemm(w, gcols, gx[n])
        if need_w:
            _transpose_into(x[n], xt)
            _gemm(gcols, xt, gwt)


@numba.njit(**_JIT)
def leaky_relu(x, slope, out):
    """``out = x if x > 0 else x * slope`` elementwise over 1-d arrays (``slope`` of their dtype): one
    compare and one IEEE multiply per element, as ATen's kernel, so the same bits (NaN, -0.0 included)."""
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else v * slope


@numba.njit(**_JIT)
def leaky_relu_backward(x, grad, slope, out):
    """``out = grad if x > 0 else grad * slope`` elementwise over 1-d arrays: ATen's
    ``leaky_relu_backward`` (of the input, not the result)."""
    for i in range(x.size):
        out[i] = grad[i] if x[i] > 0 else grad[i] * slope


@numba.njit(**_JIT)
def relu_backward(result, grad, out):
    """``out = 0 if result <= 0 else grad`` elementwise over 1-d arrays: ATen's ``threshold_backward``
    at threshold 0, as ReLU's backward (a NaN result passes its gradient through)."""
    for i in range(result.size):
        if result[i] <= 0:
            out[i] = 0
        else:
            out[i] = grad[i]
