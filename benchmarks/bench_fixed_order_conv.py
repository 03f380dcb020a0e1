#!/usr/bin/env python
"""The fixed-order convolutions (arch.conv_kernels=fixed_order): the same bits for every instruction set,
and how much faster than portable mode's PyTorch convolutions.

    python benchmarks/bench_fixed_order_conv.py [--steps 15] [--rounds 6] [--bits-only]

Three measurements, each process in portable mode's environment (ganaudit.utils.determinism):

1. bits: a GEMM and a convolution's and a transposed convolution's forward and backward (fixed inputs)
   with ganaudit.axes.fixed_conv compiled by numba for this CPU, for baseline x86-64
   (``NUMBA_CPU_NAME=x86-64 NUMBA_CPU_FEATURES=+sse2``) and for Haswell (AVX2 + FMA), each in its own
   process with its own numba cache, digests compared;
   the GEMM also against numpy evaluating the same term sequence;
2. the demo's eleven conv layers (SNDCGAN 1/8, batch 32), forward + backward, against PyTorch's portable
   convolutions (im2col + MKL's SSE2 GEMM), CPU ms;
3. the demo's whole D+G step with ``conv_kernels`` aten and fixed_order alternating on the same models in
   one process (``--rounds`` x ``--steps``), CPU ms per step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from _demo_step import best_cpu_seconds, cpu_seconds, demo_models_and_step, print_rounds

REPO = Path(__file__).resolve().parents[1]
# NUMBA_CPU_NAME alone keeps the host's features: the target is the name and the features together
TARGETS = (("this CPU", None), ("baseline x86-64 (SSE2)", ("x86-64", "+sse2")),
           ("Haswell (AVX2 + FMA)", ("haswell", "+sse4.2,+avx,+avx2,+fma")))


def fixed_ops():
    """(fixed-order GEMM as a tensor function, conv2d, conv_transpose2d) from ganaudit.axes.fixed_conv."""
    from ganaudit.axes import fixed_conv

    def mm(a, b):
        import torch

        out = torch.zeros(a.shape[0], b.shape[1], dtype=a.dtype)
        fixed_conv.kernels().gemm_acc(a.numpy(), b.numpy(), out.numpy())
        return out

    def conv2d(x, w, b, s, p):
        return fixed_conv.conv2d(x, w, b, s, p)

    def conv_transpose2d(x, w, b, s, p):
        return fixed_conv.conv_transpose2d(x, w, b, s, p)

    return mm, conv2d, conv_transpose2d


def _digest(*arrays) -> str:
    return hashlib.sha256(b"".join(a.detach().contiguous().numpy().tobytes() for a in arrays)).hexdigest()[:12]


def worker_bits() -> dict:
    import numpy as np
    import torch

    mm, conv2d, conv_transpose2d = fixed_ops()
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(19, 150, generator=g), torch.randn(150, 700, generator=g)
    c = mm(a, b)
    ref = np.zeros((19, 700), np.float32)  # the same term sequence, evaluated by numpy
    for k in range(150):
        ref = ref + a.numpy()[:, k:k + 1] * b.numpy()[k:k + 1, :]
    x = torch.randn(4, 8, 16, 16, generator=g, requires_grad=True)
    w, bias = torch.randn(16, 8, 4, 4, generator=g, requires_grad=True), torch.randn(16, generator=g)
    y = conv2d(x, w, bias.requires_grad_(), 2, 1)
    gx, gw = torch.autograd.grad(y, (x, w), torch.randn(y.shape, generator=g))
    wt = torch.randn(8, 4, 4, 4, generator=g, requires_grad=True)
    yt = conv_transpose2d(x, wt, torch.zeros(4, requires_grad=True), 2, 1)
    gxt, gwt = torch.autograd.grad(yt, (x, wt), torch.randn(yt.shape, generator=g))
    from ganaudit.axes import fixed_kernels

    feats = fixed_kernels.machine_code_features()
    regs = "+".join(r for r in ("xmm", "ymm", "zmm") if feats[r]) + (", FMA" if feats["fma"] else ", no FMA")
    return {"registers": regs, "gemm": _digest(c), "gemm_equals_sequence": bool(np.array_equal(c.numpy().view(np.int32),
                                                                                ref.view(np.int32))),
            "conv": _digest(y, gx, gw), "deconv": _digest(yt, gxt, gwt),
            "conv_vs_torch": float((y - torch.nn.functional.conv2d(x, w, bias, 2, 1)).abs().max())}


def _both(reference, fixed, args) -> tuple[float, float]:
    """CPU ms of forward + backward (grads of input, weight, bias) of ``reference(*args)`` and ``fixed(*args)``."""
    import torch

    grad = torch.randn_like(reference(*args))
    return tuple(best_cpu_seconds(lambda f=f: torch.autograd.grad(f(*args), args[:3], grad), 10) * 1e3
                 for f in (reference, fixed))


def worker_speed(steps: int, rounds: int) -> dict:
    import torch
    import torch.nn.functional as F

    from ganaudit.axes.fixed_conv import set_conv_kernels
    from ganaudit.utils import determinism

    determinism.enforce("portable")
    _, conv2d, conv_transpose2d = fixed_ops()
    n = 32
    layers = []
    for ci, co, k, s, h in ((3, 8, 3, 1, 32), (8, 16, 4, 2, 32), (16, 16, 3, 1, 16), (16, 32, 4, 2, 16),
                            (32, 32, 3, 1, 8), (32, 64, 4, 2, 8), (64, 64, 3, 1, 4)):
        x, w, b = torch.randn(n, ci, h, h, requires_grad=True), torch.randn(co, ci, k, k, requires_grad=True), \
            torch.randn(co, requires_grad=True)
        layers.append((f"D conv {ci}->{co} {k}x{k}/{s} at {h}x{h}", *_both(F.conv2d, conv2d, (x, w, b, s, 1))))
    for ci, co, k, s, p, h in ((64, 32, 4, 2, 1, 4), (32, 16, 4, 2, 1, 8), (16, 8, 4, 2, 1, 16), (8, 3, 3, 1, 1, 32)):
        x, w, b = torch.randn(n, ci, h, h, requires_grad=True), torch.randn(ci, co, k, k, requires_grad=True), \
            torch.randn(co, requires_grad=True)
        layers.append((f"G deconv {ci}->{co} {k}x{k}/{s} at {h}x{h}",
                       *_both(F.conv_transpose2d, conv_transpose2d, (x, w, b, s, p))))

    G, D, step = demo_models_and_step()

    per = {"torch": [], "fixed": []}
    for _ in range(rounds):
        for name in per:
            for net in (G, D):
                set_conv_kernels(net, "aten" if name == "torch" else "fixed_order")
            per[name].append(cpu_seconds(step, steps) * 1e3)
    return {"layers": layers, "steps": per}


def _run(kind: str, target: tuple[str, str] | None, extra: list[str]) -> dict:
    """The worker ``kind`` in a fresh process in portable mode's environment; ``target`` = (numba CPU name,
    features) with a numba cache of its own, or None for this CPU."""
    import tempfile

    sys.path.insert(0, str(REPO / "src"))
    from ganaudit.utils.determinism import mode_env

    env = {k: v for k, v in mode_env("portable").items() if not k.startswith("NUMBA_")}
    env["PYTHONPATH"] = str(REPO / "src")
    with tempfile.TemporaryDirectory() as cache:
        if target:
            env.update(NUMBA_CPU_NAME=target[0], NUMBA_CPU_FEATURES=target[1], NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, __file__, "--worker", kind, *extra], env=env, capture_output=True,
                             text=True, cwd=REPO)
    if out.returncode:
        raise SystemExit(f"worker {kind} ({target or 'this CPU'}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--bits-only", action="store_true", help="the bits table alone (no timing)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "bits":
        print(json.dumps(worker_bits()))
        return
    if args.worker == "speed":
        print(json.dumps(worker_speed(args.steps, args.rounds)))
        return
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("\n| compiled for | GEMM's registers | GEMM digest | GEMM = numpy's term sequence | conv fwd+bwd digest "
          "| deconv fwd+bwd digest | conv vs PyTorch max abs diff |\n|---|---|---|---|---|---|---|")
    digests = set()
    for label, cpu in TARGETS:
        r = _run("bits", cpu, [])
        digests.add((r["gemm"], r["conv"], r["deconv"]))
        print(f"| {label} | {r['registers']} | `{r['gemm']}` | {r['gemm_equals_sequence']} | `{r['conv']}` "
              f"| `{r['deconv']}` "
              f"| {r['conv_vs_torch']:.1e} |")
    print(f"\nbits: {'the same under every target' if len(digests) == 1 else 'DIFFER between targets'}")
    if args.bits_only:
        return
    r = _run("speed", None, ["--steps", str(args.steps), "--rounds", str(args.rounds)])
    print("\nforward + backward, batch 32, CPU ms (min of 3 x 10), portable PyTorch vs fixed order\n"
          "| layer | PyTorch (portable) | fixed order | fixed / PyTorch |\n|---|---|---|---|")
    tot_t = tot_f = 0.0
    for name, t, f in r["layers"]:
        tot_t, tot_f = tot_t + t, tot_f + f
        print(f"| {name} | {t:.2f} | {f:.2f} | {f / t:.2f} |")
    print(f"| all eleven | {tot_t:.2f} | {tot_f:.2f} | {tot_f / tot_t:.2f} |")
    print(f"\ndemo D+G step, CPU ms, {args.rounds} alternating rounds of {args.steps} steps in one process:")
    print_rounds(r["steps"], ("fixed", "torch"))


if __name__ == "__main__":
    main()
