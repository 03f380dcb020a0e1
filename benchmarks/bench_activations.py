#!/usr/bin/env python
"""LeakyReLU and ReLU in portable mode: ATen's generic (scalar) kernels against the numba kernels of
ganaudit.axes.activations (the same bits), per op and on the demo's whole step.

    python benchmarks/bench_activations.py [--steps 15] [--rounds 8]

Runs in a fresh process in portable mode's environment (``ATEN_CPU_CAPABILITY=default``, one thread):

1. forward + backward of LeakyReLU(0.1) and ReLU on the demo D's and G's activation shapes (batch 32),
   CPU microseconds, ATen vs numba, and whether the two give the same bits;
2. the demo's D+G step (SNDCGAN 1/8, batch 32, SN, hinge, TF1 Adam) with the numba activations off and
   on, alternating in one process, ``--rounds`` x ``--steps``, for ``arch.conv_kernels`` aten and
   fixed_order: CPU ms per step, medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _demo_step import best_cpu_seconds, cpu_seconds, demo_models_and_step, print_rounds

REPO = Path(__file__).resolve().parents[1]
SHAPES = ((32, 8, 32, 32), (32, 16, 16, 16), (32, 32, 8, 8), (32, 64, 4, 4))


def _op_row(name: str, shape: tuple, ours, ref) -> tuple:
    """(name, shape, ATen us, numba us, same bits) of forward + backward at ``shape``."""
    import torch

    x, grad = torch.randn(shape, requires_grad=True), torch.randn(shape)

    def fwd_bwd(f):
        y = f(x)
        return (y, *torch.autograd.grad(y, x, grad))

    same = all(torch.equal(a, b) for a, b in zip(fwd_bwd(ours), fwd_bwd(ref), strict=True))
    aten_us, numba_us = (best_cpu_seconds(lambda f=f: fwd_bwd(f), 20) * 1e6 for f in (ref, ours))
    return name, "x".join(map(str, shape)), aten_us, numba_us, same


def _step_times(conv_kernels: str, steps: int, rounds: int) -> dict:
    """CPU ms per demo step with the numba activations off ("ATen") and on ("numba"), alternating."""
    from ganaudit.axes import activations

    _, _, step = demo_models_and_step(conv_kernels)

    numba_on, times = activations.uses_numba_kernel, {"ATen": [], "numba": []}
    try:
        for _ in range(rounds):
            for label in times:
                activations.uses_numba_kernel = numba_on if label == "numba" else (lambda x: False)
                times[label].append(cpu_seconds(step, steps) * 1e3)
    finally:
        activations.uses_numba_kernel = numba_on
    return times


def worker(steps: int, rounds: int) -> dict:
    import torch
    import torch.nn.functional as F

    from ganaudit.axes import activations
    from ganaudit.utils import determinism

    determinism.enforce("portable")
    ops = []
    for shape in SHAPES:
        ops.append(_op_row("LeakyReLU(0.1)", shape, lambda t: activations.leaky_relu(t, 0.1),
                           lambda t: F.leaky_relu(t, 0.1)))
        ops.append(_op_row("ReLU", shape, activations.relu, torch.relu))
    return {"ops": ops, "steps": {k: _step_times(k, steps, rounds) for k in ("aten", "fixed_order")}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.steps, args.rounds)))
        return
    sys.path.insert(0, str(REPO / "src"))
    from ganaudit.utils.determinism import mode_env

    env = {**os.environ, **mode_env("portable"), "PYTHONPATH": str(REPO / "src")}
    print(f"load average {os.getloadavg()[0]:.1f}")
    out = subprocess.run([sys.executable, __file__, "--worker", "--steps", str(args.steps), "--rounds",
                          str(args.rounds)], env=env, capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        raise SystemExit(f"worker failed:\n{out.stderr[-3000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print("\nforward + backward, CPU us (min of 3 x 20), portable mode\n"
          "| op | shape | ATen (generic kernel) | numba | numba / ATen | same bits |\n|---|---|---|---|---|---|")
    for name, shape, t_ref, t_ours, same in r["ops"]:
        print(f"| {name} | {shape} | {t_ref:.0f} | {t_ours:.0f} | {t_ours / t_ref:.2f} | {same} |")
    print(f"\ndemo D+G step, CPU ms, {args.rounds} alternating rounds of {args.steps} steps in one process:")
    for kernels, times in r["steps"].items():
        print(f"  conv_kernels={kernels}")
        print_rounds(times, ("numba", "ATen"), indent="    ")


if __name__ == "__main__":
    main()
