#!/usr/bin/env python
"""Where a portable training step spends its time, beside fast mode: one table per phase, one per op kind.

    python benchmarks/profile_step.py [--steps 30] [--repeats 3] [--variants fast,portable,...]

The step is the demo's (conf/study/demo.yaml): SNDCGAN at width 1/8, batch 32, 32x32, spectral norm in
D, hinge loss, the study's TF1 Adam, n_dis 1, one thread. Each variant runs in its own process (the
kernels are chosen at import), the variants interleaved in every round (the machine may be shared); a
figure is the minimum over ``--repeats`` rounds. Variants:

  fast           the CPU's own kernels (oneDNN on, ATen at the CPU's capability, MKL unpinned)
  portable       ganaudit.utils.determinism's portable environment and runtime switches
  portable+fixed portable with arch.conv_kernels=fixed_order (ganaudit.axes.fixed_conv): a mode of its own
                 bits, the same on every x86-64 CPU
  portable/gemm  portable, but MKL's GEMM left to the CPU (MKL_CBWR=AUTO): what MKL's pin costs
  portable/aten  portable, but ATen's kernels at the CPU's capability: what the generic ATen build costs
  portable+fill  portable, but every new tensor filled with NaN, as torch's deterministic algorithms do
                 by default (portable turns that check off: what it cost)

The last three are decompositions for the table, not modes: their bits depend on the CPU.

Phases (torch.profiler regions, CPU ms per D step): data (the real batch from the digits rows and z),
G forward for the D step, D forward (real and fake), D backward, D optimizer, the G step's forward,
backward and optimizer; of which SN (the spectral-norm power iterations, inside the D forwards);
and one checkpoint evaluation (the digits_cnn protocol: 500 fakes, their features, FID against the
real statistics). Op kinds partition the step's self CPU time by ATen op name.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UNPINNED = ("ATEN_", "ONEDNN_", "DNNL_", "MKL_", "OPENBLAS_", "NPY_", "NUMBA_", "GANAUDIT_DETERMINISM")
VARIANTS = {
    "fast": {"mode": "fast"},
    "portable": {"mode": "portable"},
    "portable+fixed": {"mode": "portable", "conv": "fixed_order"},
    "portable/gemm": {"mode": "portable", "env": {"MKL_CBWR": "AUTO"}},
    "portable/aten": {"mode": "portable", "env": {"ATEN_CPU_CAPABILITY": "__cpu__"}},
    "portable+fill": {"mode": "portable", "fill": True},
}
PHASES = ("data", "G fwd (D step)", "D fwd", "D bwd", "D opt", "G step fwd", "G step bwd", "G opt")
#: op kinds, first match wins (regex on the ATen op name)
KINDS = (
    ("convolutions (D and G, forward and backward)", r"conv|Conv|im2col|col2im"),
    ("linear / GEMM", r"addmm|aten::mm$|aten::bmm|aten::matmul|aten::linear"),
    ("spectral norm (mv, norm)", r"addmv|aten::mv$|aten::dot|vector_norm|aten::normalize"),
    ("batch norm", r"batch_norm|var_mean"),
    ("activations", r"leaky_relu|relu|ReLU|threshold|tanh|clamp|hardtanh"),
    ("optimizer (foreach)", r"_foreach|lerp|Optimizer"),
    ("memory (fill, copy, empty)", r"fill_|copy_|empty|zero_|clone|contiguous|to$|_to_copy|resize"),
    ("loss and reductions", r"sum|mean|softplus|neg|rsub|aten::sub|aten::add|aten::mul|aten::div"),
)


def worker(mode: str, steps: int, fill: bool | None, conv: str = "aten") -> dict:
    import numpy as np
    import torch
    from torch.profiler import profile, record_function

    from ganaudit.axes.archs import ARCHS, sample_z
    from ganaudit.axes.losses import LOSSES
    from ganaudit.axes.optim import make_adam
    from ganaudit.metrics import fid
    from ganaudit.metrics.digits_cnn import DigitsCNN
    from ganaudit.utils import determinism

    if mode == "portable" and determinism.missing_settings("portable"):
        determinism._runtime("portable")  # a decomposition: one pin left to the CPU
        settings = determinism.settings("portable")
    else:
        settings = determinism.enforce(mode)
    if fill is not None:
        torch.utils.deterministic.fill_uninitialized_memory = fill
    torch.set_num_threads(1)
    torch.manual_seed(0)
    G, D = ARCHS.get("sndcgan").build(32, "spectral", 0.125, 128, "v2", conv)
    opt_d, opt_g = (make_adam("tf1", m.parameters(), lr=1e-3, betas=(0.5, 0.9), eps=1e-8) for m in (D, G))
    rows = torch.randint(0, 256, (1797, 3, 32, 32), dtype=torch.uint8)  # the digits train rows' shape
    loss_fn = LOSSES.get("hinge")
    gen = np.random.default_rng(0)

    sn_cls, sn_forward = None, None
    for mod in D.modules():
        plist = getattr(getattr(mod, "parametrizations", None), "weight", None)
        if plist is not None:
            sn_cls = type(plist[0])
            break
    if sn_cls is not None:
        sn_forward = sn_cls.forward

        def timed_sn(self, weight):
            with record_function("SN"):
                return sn_forward(self, weight)

        sn_cls.forward = timed_sn

    def step() -> None:
        with record_function("data"):
            real = rows[torch.from_numpy(gen.integers(0, len(rows), 32))].float().div_(255.0)
            z = sample_z(32, 128)
        with record_function("G fwd (D step)"), torch.no_grad():
            fake = G(z)
        with record_function("D fwd"):
            terms = loss_fn(D(real), D(fake))
        with record_function("D bwd"):
            opt_d.zero_grad(set_to_none=True)
            terms.d.backward()
        with record_function("D opt"):
            opt_d.step()
        D.requires_grad_(False)
        with record_function("G step fwd"):
            g_loss = loss_fn(None, D(G(z))).g
        with record_function("G step bwd"):
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
        with record_function("G opt"):
            opt_g.step()
        D.requires_grad_(True)

    for _ in range(5):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps
    with profile() as prof:
        for _ in range(steps):
            step()
    avg = {e.key: e for e in prof.key_averages()}
    phases = {p: avg[p].cpu_time_total / 1e3 / steps for p in (*PHASES, "SN") if p in avg}
    kinds = dict.fromkeys([k for k, _ in KINDS] + ["other"], 0.0)
    for e in prof.key_averages():
        if e.key in phases or not e.key.startswith(("aten::", "Optimizer", "autograd", "_Conv")):
            continue
        kind = next((k for k, rx in KINDS if re.search(rx, e.key)), "other")
        kinds[kind] += e.self_cpu_time_total / 1e3 / steps

    net = DigitsCNN().eval()
    ev = []
    for _ in range(2):
        e0 = time.process_time()
        with torch.no_grad():
            G.eval()
            fake = torch.cat([G(sample_z(100, 128)) for _ in range(5)])
            G.train()
            f_fake = net((fake * 255).round_().clamp_(0, 255) / 255.0)[0].double().numpy()
        value = fid(f_fake, f_fake[::-1].copy() + 1.0)  # the real side's statistics are cached in a run
        ev.append(time.process_time() - e0)
    return {"wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3, "phases": phases, "kinds": kinds,
            "eval_ms": min(ev) * 1e3, "fid_finite": bool(np.isfinite(value)),
            "capability": settings["cpu_capability"], "mkldnn": settings["mkldnn_enabled"],
            "mkl_cbwr": os.environ.get("MKL_CBWR"),
            "fill": bool(torch.utils.deterministic.fill_uninitialized_memory
                         and torch.are_deterministic_algorithms_enabled())}


def run_variant(name: str, steps: int) -> dict:
    spec = VARIANTS[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith(UNPINNED)}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    cmd = [sys.executable, __file__, "--worker", spec["mode"], "--steps", str(steps)]
    if spec.get("fill"):
        cmd.append("--fill")
    if spec.get("conv"):
        cmd += ["--conv", spec["conv"]]
    if spec["mode"] == "portable":
        from ganaudit.utils.determinism import mode_env

        env = mode_env("portable", env)
        for k, v in spec.get("env", {}).items():
            if v == "__cpu__":
                env.pop(k, None)
            else:
                env[k] = v
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        raise SystemExit(f"variant {name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    from ganaudit.utils.determinism import cpu_summary

    cpu = cpu_summary()
    return (f"{cpu['model']}, {cpu['cores']} cores, flags {' '.join(cpu['flags'])}; "
            f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f} at start")


def _best(runs: list[dict]) -> dict:
    """Per figure, the minimum over rounds (the least disturbed measurement of each)."""
    best = json.loads(json.dumps(runs[0]))
    for r in runs[1:]:
        for key in ("wall_ms", "cpu_ms", "eval_ms"):
            best[key] = min(best[key], r[key])
        for table in ("phases", "kinds"):
            for k, v in r[table].items():
                best[table][k] = min(best[table].get(k, v), v)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--fill", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--conv", default="aten", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps, True if args.fill else None, args.conv)))
        return
    names = [n.strip() for n in args.variants.split(",")]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"--variants: unknown {', '.join(unknown)}; expected some of {', '.join(VARIANTS)}")
    print(f"machine: {machine()}")
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.repeats):
        for n in names:
            runs[n].append(run_variant(n, args.steps))
            print(f"  round {r + 1}/{args.repeats} {n:14s} {runs[n][-1]['cpu_ms']:7.1f} CPU ms/step", file=sys.stderr)
    best = {n: _best(v) for n, v in runs.items()}
    ref = best.get("fast") or best[names[0]]
    print(f"\ndemo step (SNDCGAN 1/8, batch 32, SN, hinge, TF1 Adam, 1 thread); CPU ms per D step, "
          f"min over {args.repeats} rounds of {args.steps} steps; ratio to {'fast' if 'fast' in best else names[0]}")
    head = "| | " + " | ".join(names) + " |"
    print(head + "\n|---|" + "---|" * len(names))
    print("| ATen / oneDNN / MKL_CBWR | " + " | ".join(
        f"{b['capability']} / {'on' if b['mkldnn'] else 'off'} / {b['mkl_cbwr'] or '-'}" for b in best.values()) + " |")
    print("| **step (CPU ms)** | " + " | ".join(f"**{b['cpu_ms']:.1f}** ({b['cpu_ms'] / ref['cpu_ms']:.2f}x)"
                                           for b in best.values()) + " |")
    fills = " | ".join("on" if b["fill"] else "off" for b in best.values())
    print(f"| NaN fill of new tensors (deterministic mode) | {fills} |")
    print("| step (wall ms) | " + " | ".join(f"{b['wall_ms']:.1f}" for b in best.values()) + " |")
    print("| *phases (CPU ms under the profiler)* |" + " |" * len(names))
    for ph in (*PHASES, "SN"):
        label = "of which SN power iterations" if ph == "SN" else ph
        print(f"| {label} | " + " | ".join(f"{b['phases'].get(ph, 0):.1f}" for b in best.values()) + " |")
    print("| *op kinds (self CPU ms)* |" + " |" * len(names))
    for kind in [k for k, _ in KINDS] + ["other"]:
        print(f"| {kind} | " + " | ".join(f"{b['kinds'].get(kind, 0):.1f}" for b in best.values()) + " |")
    print("| evaluation, one checkpoint (CPU ms) | " + " | ".join(
        f"{b['eval_ms']:.0f} ({b['eval_ms'] / ref['eval_ms']:.2f}x)" for b in best.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "best": best}, indent=1))


if __name__ == "__main__":
    main()
