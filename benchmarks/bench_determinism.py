#!/usr/bin/env python
"""determinism=portable vs fast: train-step and evaluation time, side by side in one invocation.

    python benchmarks/bench_determinism.py [--steps 20] [--repeats 3]

At the demo's size (SNDCGAN width 1/8, batch 32, 32x32, NS + spectral norm, n_dis 1; one thread) it
times, each in its own process:
  * fast       : the CPU's own kernels (OMP_NUM_THREADS=1, oneDNN on);
  * fast-avx2  : fast with the instruction set capped to AVX2 (ATEN_CPU_CAPABILITY=avx2,
                 ONEDNN_MAX_CPU_ISA=AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2, OPENBLAS_CORETYPE=Haswell),
                 what an AVX2-only machine runs;
  * portable   : ganaudit.utils.determinism's pinned environment and runtime flags.
Step = one D+G step (ganaudit.training.lit.steps, Adam); evaluation = the digits_cnn protocol's work for one
checkpoint (500 samples generated, embedded by the shipped digits CNN, FID against 500 real
embeddings). Rounds interleave the variants (the machine is shared); each figure is the minimum over
``--repeats`` rounds of the median step / the evaluation time. Ratios are against ``fast``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "fast": {"mode": "fast", "caps": {}},
    "fast-avx2": {"mode": "fast", "caps": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                           "MKL_ENABLE_INSTRUCTIONS": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}},
    "portable": {"mode": "portable", "caps": {}},
}


def worker(mode: str, steps: int) -> dict:
    """Time ``steps`` D+G steps and one evaluation in this process (mode's runtime flags applied)."""
    import numpy as np
    import torch

    from ganaudit.axes.archs import ARCHS, sample_z
    from ganaudit.axes.losses import LOSSES
    from ganaudit.metrics import fid
    from ganaudit.metrics.digits_cnn import DigitsCNN
    from ganaudit.training.lit.steps import plain_step
    from ganaudit.utils import determinism

    settings = determinism.enforce(mode)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    G, D = ARCHS.get("sndcgan").build(32, "spectral", 0.125, 128)
    opt_d, opt_g = (torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (D, G))
    real = torch.rand(32, 3, 32, 32)
    loss_fn, times = LOSSES.get("ns"), []
    for i in range(steps + 3):  # 3 warm-up steps
        t0 = time.perf_counter()
        z = sample_z(32, 128)
        plain_step(G, D, loss_fn, None, 0.0, real, z, opt_d, opt_g)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    net = DigitsCNN()
    net.load_state_dict(torch.load(REPO / "src/ganaudit/resources/digits_cnn.pt", weights_only=True))
    net.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        fake = torch.cat([G.eval()(sample_z(100, 128)) for _ in range(5)])
        f_fake = net(fake.clamp(0, 1))[0].double().numpy()
        f_real = net(torch.rand(500, 3, 32, 32))[0].double().numpy()
    value = fid(f_fake, f_real)
    eval_s = time.perf_counter() - t0
    return {"step_s": statistics.median(times), "eval_s": eval_s, "fid_finite": bool(np.isfinite(value)),
            "cpu_capability": settings["cpu_capability"], "mkldnn": settings["mkldnn_enabled"]}


def run_variant(name: str, steps: int) -> dict:
    spec = VARIANTS[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATEN_", "ONEDNN_", "MKL_", "OPENBLAS_"))}
    env = {**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src"), **spec["caps"]}
    cmd = [sys.executable, __file__, "--worker", spec["mode"], "--steps", str(steps)]
    if spec["mode"] == "portable":
        cmd = [sys.executable, "-m", "ganaudit.determinism", "exec", "--mode", "portable", "--", *cmd]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine() -> str:
    from ganaudit.utils.determinism import cpu_summary

    cpu = cpu_summary()
    return f"{cpu['model']}, {cpu['cores']} cores, flags {' '.join(cpu['flags'])}, Python {platform.python_version()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps)))
        return
    best: dict[str, dict] = {}
    for r in range(args.repeats):
        for name in VARIANTS:
            res = run_variant(name, args.steps)
            b = best.setdefault(name, dict(res))
            b.update(step_s=min(b["step_s"], res["step_s"]), eval_s=min(b["eval_s"], res["eval_s"]))
            print(f"round {r + 1}/{args.repeats} {name:10s} step {res['step_s']:.4f} s  eval {res['eval_s']:.3f} s",
                  file=sys.stderr)
    print(f"machine: {machine()}")
    print(f"SNDCGAN width 1/8, batch 32, 32x32, NS+SN, 1 thread; min over {args.repeats} rounds "
          f"(median of {args.steps} steps each)")
    print(f"{'variant':10s} {'ATen':8s} {'oneDNN':6s} {'s/step':>8s} {'step/fast':>9s} {'eval s':>7s} "
          f"{'eval/fast':>9s}")
    for name, b in best.items():
        print(f"{name:10s} {b['cpu_capability']:8s} {str(b['mkldnn']):6s} {b['step_s']:8.4f} "
              f"{b['step_s'] / best['fast']['step_s']:9.2f} {b['eval_s']:7.3f} "
              f"{b['eval_s'] / best['fast']['eval_s']:9.2f}")
    print(f"portable / fast-avx2: step {best['portable']['step_s'] / best['fast-avx2']['step_s']:.2f}x, "
          f"eval {best['portable']['eval_s'] / best['fast-avx2']['eval_s']:.2f}x")


if __name__ == "__main__":
    main()
