"""The fixed-order kernels of ganaudit.axes.fixed_conv (and the elementwise ones of
ganaudit.axes.activations), compiled by numba for the CPU at hand.

Imported on first use (numba starts in ~0.5 s and compiles these in a few seconds the first time; the
machine code is cached beside this file, or in numba's user cache when this folder is read-only, per
CPU model and instruction set). Every output of :func:`gemm_acc` is the float32 sequence
``(...((c + a[0]*b[0]) + a[1]*b[1]) + ...) + a[K-1]*b[K-1]``: one IEEE multiply then one IEEE add per
term, k in order. The loops vectorize across output columns only, and numba compiles without fast-math
(no reassociation, no fused multiply-add), so SSE2, AVX2 and AVX-512 builds give the same bits.
"""

from __future__ import annotations

import numba

__all__ = ["gemm_acc", "im2col", "col2im", "leaky_relu", "leaky_relu_backward", "relu_backward",
           "COLUMN_BLOCK"]

COLUMN_BLOCK = 256  # output columns per pass (their rows of C and B stay in L1/L2)
_JIT = dict(cache=True, fastmath=False, boundscheck=False, nogil=True, error_model="numpy")


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
def gemm_acc(A, B, C):
    """``C += A @ B`` in place (C-contiguous 2-d arrays of one float dtype, ``A [M, K]``, ``B [K, N]``,
    ``C [M, N]``), each ``C[i, j]`` accumulated term by term in the order k = 0..K-1 (module docstring)."""
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
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """``out [C*kh*kw, N*ho*wo]``: row ``(c, i, j)``, column ``(n, oy, ox)`` holds
    ``x[n, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw]`` (0 outside ``x``)."""
    n_, c_, h_, w_ = x.shape
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for n in range(n_):
                    for oy in range(ho):
                        iy = oy * sh - ph + i * dh
                        base = (n * ho + oy) * wo
                        for ox in range(wo):
                            ix = ox * sw - pw + j * dw
                            inside = 0 <= iy < h_ and 0 <= ix < w_
                            out[r, base + ox] = x[n, c, iy, ix] if inside else 0.0


@numba.njit(**_JIT)
def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """The adjoint of :func:`im2col`: ``out [N, C, H, W]`` (zeros on entry) += every ``cols`` entry at
    its pixel, in the order (c, i, j, n, oy, ox)."""
    n_, c_, h_, w_ = out.shape
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for n in range(n_):
                    for oy in range(ho):
                        iy = oy * sh - ph + i * dh
                        if 0 <= iy < h_:
                            base = (n * ho + oy) * wo
                            for ox in range(wo):
                                ix = ox * sw - pw + j * dw
                                if 0 <= ix < w_:
                                    out[n, c, iy, ix] += cols[r, base + ox]


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
