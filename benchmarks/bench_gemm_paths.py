#!/usr/bin/env python
"""Which GEMM code paths could make portable mode faster: their speed and whether their bits are pinned.

    python benchmarks/bench_gemm_paths.py [--repeats 3]

A portable demo step spends about a third of its time in MKL's GEMM on its reproducible SSE2 branch
(MKL_CBWR=COMPATIBLE; benchmarks/profile_step.py). This script times, each in its own process and one
thread, the two GEMM shapes of a demo convolution (tall: 8192x144 @ 144x16, the weight gradient's
kind; wide: 16x144 @ 144x8192, the forward's kind) on

  * MKL (torch.matmul) under every MKL_CBWR branch, and under MKL_ENABLE_INSTRUCTIONS caps;
  * OpenBLAS (numpy.matmul, numpy's bundled OpenBLAS) with each forced OPENBLAS_CORETYPE,

and prints a digest of the results' bits. A path is a candidate for a faster pinned mode only if its
bits are its own (not those of the CPU's automatic choice) and the same under every cap this machine
can set. Intel documents that the CNR branches other than COMPATIBLE fall back to the automatic
branch on non-Intel CPUs: on an AMD CPU they print AUTO's digest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

PINS = ("ATEN_", "ONEDNN_", "DNNL_", "MKL_", "OPENBLAS_", "NPY_", "GANAUDIT_DETERMINISM")
MKL = [({"MKL_CBWR": b}, f"MKL CBWR={b}") for b in ("COMPATIBLE", "SSE4_2", "AVX", "AVX2", "AVX512", "AUTO")]
MKL += [({"MKL_CBWR": b, "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}, f"MKL CBWR={b}, instructions capped to SSE4_2")
        for b in ("COMPATIBLE", "AVX2")]
OPENBLAS = [({"OPENBLAS_CORETYPE": c}, f"OpenBLAS core {c}")
            for c in ("Prescott", "Core2", "Nehalem", "Sandybridge", "Haswell", "SkylakeX", "Zen")]


def worker(lib: str) -> dict:
    import hashlib
    import time

    import numpy as np

    rng = np.random.default_rng(0)
    shapes = {"tall": ((8192, 144), (144, 16)), "wide": ((16, 144), (144, 8192))}
    mats = {k: (rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32))
            for k, (a, b) in shapes.items()}
    if lib == "mkl":
        import torch

        torch.set_num_threads(1)
        mats = {k: (torch.from_numpy(a), torch.from_numpy(b)) for k, (a, b) in mats.items()}

        def mm(a, b):
            return (a @ b).numpy()
    else:
        def mm(a, b):
            return a @ b
    digest = hashlib.sha256(b"".join(mm(a, b).tobytes() for a, b in mats.values())).hexdigest()[:12]
    times = {}
    for k, (a, b) in mats.items():
        mm(a, b)
        t0 = time.process_time()
        for _ in range(50):
            mm(a, b)
        times[k] = (time.process_time() - t0) / 50 * 1e3
    return {"digest": digest, **times}


def run(lib: str, env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PINS)}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **env_extra)
    out = subprocess.run([sys.executable, __file__, "--worker", lib], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    cases = [("mkl", e, label) for e, label in MKL] + [("openblas", e, label) for e, label in OPENBLAS]
    best: dict[str, dict] = {}
    for _ in range(args.repeats):  # rounds interleave the cases; each figure is the minimum over rounds
        for lib, env, label in cases:
            r = run(lib, env)
            b = best.setdefault(label, r)
            if b["digest"] != r["digest"]:
                raise SystemExit(f"{label}: bits changed between rounds ({b['digest']} vs {r['digest']})")
            b.update(tall=min(b["tall"], r["tall"]), wide=min(b["wide"], r["wide"]))
    ref = best["MKL CBWR=COMPATIBLE"]
    print(f"load average {os.getloadavg()[0]:.1f}; CPU ms per GEMM, one thread, min over {args.repeats} rounds")
    print("| path | result digest | tall ms | wide ms | time / COMPATIBLE |")
    print("|---|---|---|---|---|")
    for label, b in best.items():
        ratio = (b["tall"] + b["wide"]) / (ref["tall"] + ref["wide"])
        print(f"| {label} | `{b['digest']}` | {b['tall']:.2f} | {b['wide']:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
