"""FID from 10k x 2048 features: our eigenvalue route vs scipy.linalg.sqrtm, side by side, one run.

    python benchmarks/bench_fid.py [--n 10000] [--d 2048]

Prints the time of (a) the feature statistics (two float64 covariances), (b) FID from the statistics
(our Cholesky/eigvalsh route), (c) the scipy.linalg.sqrtm route on the same matrices (as
pytorch-fid computes it), their ratio, and the values' agreement.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy.linalg
import torch

from ganaudit.metrics.fid import feature_stats, fid_from_stats


def pool3_like(rng: np.random.Generator, n: int, d: int, shift: float) -> np.ndarray:
    """Non-negative, correlated features [n, d] float32 (ReLU of a low-rank-plus-noise Gaussian)."""
    basis = rng.standard_normal((64, d)) / 8
    x = rng.standard_normal((n, 64)) @ basis + rng.standard_normal((n, d)) * 0.5 + shift
    return np.maximum(x, 0).astype(np.float32)


def scipy_fid(mu_a, s_a, mu_b, s_b) -> float:
    covmean = scipy.linalg.sqrtm(s_a @ s_b)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean))


CPU_TIMES: dict[str, float] = {}


def timed(fn, *args, label: str = ""):
    """(result, wall seconds); the process CPU seconds (all threads) go to CPU_TIMES[label]."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    CPU_TIMES[label] = CPU_TIMES.get(label, 0.0) + time.process_time() - c
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=2048)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a, b = pool3_like(rng, args.n, args.d, 0.2), pool3_like(rng, args.n, args.d, 0.25)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}, numpy {np.__version__}, scipy {scipy.__version__}")
    (stats_a, t_sa) = timed(feature_stats, a, label="stats")
    (stats_b, t_sb) = timed(feature_stats, b, label="stats")
    ours, t_ours = timed(fid_from_stats, *stats_a, *stats_b, label="ours")
    ref, t_ref = timed(scipy_fid, *stats_a, *stats_b, label="scipy")
    load = os.getloadavg()[0]
    print(f"features: 2 x [{args.n}, {args.d}] float32")
    print(f"load average (1 min) at the end: {load:.1f} (the wall times below grow with other users' load;")
    print("  CPU seconds are summed over threads: CPU / threads ~ the wall time on an idle machine)")
    print(f"statistics (2 float64 covariances):   {t_sa + t_sb:7.3f} s wall  {CPU_TIMES['stats']:7.3f} s CPU")
    cpu = CPU_TIMES
    print(f"FID from statistics, ours:            {t_ours:7.3f} s wall  {cpu['ours']:7.3f} s CPU   value {ours:.6f}")
    print(f"FID from statistics, scipy sqrtm:     {t_ref:7.3f} s wall  {cpu['scipy']:7.3f} s CPU   value {ref:.6f}")
    print(f"ratio scipy / ours:                   {t_ref / t_ours:7.2f} x wall  "
          f"{cpu['scipy'] / cpu['ours']:5.2f} x CPU")
    print(f"relative difference of the values:    {abs(ours - ref) / abs(ref):.2e}")
    print(f"total features -> FID, ours:          {t_sa + t_sb + t_ours:7.3f} s")


if __name__ == "__main__":
    main()
