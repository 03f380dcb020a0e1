"""Calibration of FID's CIs on synthetic Gaussian features (ganaudit.metrics.sample_size).

    python benchmarks/bench_fid_calibration.py [--trials 200] [--d 16] [--n 400]

Fakes ~ N(mu_f, S_f) [n, d] against exact reference statistics (mu_r, S_r), so the Fréchet distance is
known in closed form. Per trial: FID_n with its bootstrap CI (200 resamples), FID-infinity with its CI
(15 sizes n/5..n, 100 resamples). Prints the coverage of the CI of FID at n over E[FID_n] (the mean of
4000 independent draws), the coverage of the FID-infinity CI over the closed-form distance, and the
mean and mean-absolute errors of FID_n and FID-infinity against the true distance.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ganaudit.metrics.fid import feature_stats, fid_from_stats
from ganaudit.metrics.sample_size import closed_form_fd, fid_infinity, fid_n_ci


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--d", type=int, default=16)
    p.add_argument("--n", type=int, default=400)
    args = p.parse_args()
    d, n = args.d, args.n
    rng = np.random.default_rng(2020)
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    mu_r, s_r = np.zeros(d), a @ a.T / d + 0.5 * np.eye(d)
    mu_f, s_f = np.full(d, 0.3), b @ b.T / d + 0.5 * np.eye(d)
    chol = np.linalg.cholesky(s_f)
    true = closed_form_fd(mu_f, s_f, mu_r, s_r)
    expected_n = float(np.mean([fid_from_stats(*feature_stats(mu_f + rng.normal(size=(n, d)) @ chol.T), mu_r, s_r)
                                for _ in range(4000)]))
    cover_n = cover_inf = 0
    err_n, err_inf = [], []
    start = time.perf_counter()
    for t in range(args.trials):
        x = mu_f + rng.normal(size=(n, d)) @ chol.T
        at_n = fid_n_ci(x, (mu_r, s_r), n_boot=200, seed=t)
        inf = fid_infinity(x, (mu_r, s_r), n_boot=100, seed=t)
        cover_n += at_n["ci"][0] <= expected_n <= at_n["ci"][1]
        cover_inf += inf.ci[0] <= true <= inf.ci[1]
        err_n.append(at_n["fid"] - true)
        err_inf.append(inf.fid_inf - true)
    secs = time.perf_counter() - start
    print(f"d={d} n={n} trials={args.trials}: true distance {true:.4f}, E[FID_n] {expected_n:.4f}")
    print(f"coverage of the 95% CI of FID_n over E[FID_n]:            {cover_n}/{args.trials} "
          f"= {cover_n / args.trials:.1%}")
    print(f"coverage of the 95% CI of FID-infinity over the distance: {cover_inf}/{args.trials} "
          f"= {cover_inf / args.trials:.1%}")
    print(f"mean error FID_n {np.mean(err_n):+.4f} (mean |error| {np.mean(np.abs(err_n)):.4f}); "
          f"FID-infinity {np.mean(err_inf):+.4f} (mean |error| {np.mean(np.abs(err_inf)):.4f})")
    print(f"{secs:.1f} s")


if __name__ == "__main__":
    main()
