#!/usr/bin/env python
"""Study machinery benchmark, measured side by side in one invocation.

    python benchmarks/bench_study.py [--d-steps 300] [--seeds 0,1] [--source-root .]

On a slice of `study=demo` (NS and WGAN x spectral norm, the given seeds, real training + digits_cnn
evaluation), it prints:
  1. per-run overhead of the study machinery (planning = composing + hashing every run's config,
     launch, job setup, record write, export) against the run's own training+evaluation time
     (``wall_time_s`` of ganaudit.training.train), sequential local launcher;
  2. joblib with 2 workers (`hydra/launcher=parallel`) vs sequential on the same slice: the speedup.
Both use the demo's one torch thread per run (``--default-threads`` adds a sequential variant with
torch's default thread count).
Each variant uses a fresh GANAUDIT_ROOT (so no run is resumed from an earlier checkpoint) that links
the prepared data and the extractor weights/refstats of ``--source-root``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fresh_root(source: Path, parent: Path, name: str) -> Path:
    """A GANAUDIT_ROOT with symlinks to source's data/prepared and artifacts."""
    root = parent / name
    (root / "data").mkdir(parents=True)
    os.symlink((source / "data" / "prepared").resolve(), root / "data" / "prepared")
    os.symlink((source / "artifacts").resolve(), root / "artifacts")
    return root


def run_study(root: Path, overrides: list[str]) -> tuple[float, dict, list[dict]]:
    """Wall time of `python -m ganaudit.study ...`, its summary and its records."""
    env = {**os.environ, "GANAUDIT_ROOT": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ganaudit.study", "study=demo", *overrides], cwd=REPO,
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"study failed:\n{proc.stderr[-4000:]}")
    res = root / "results" / "studies" / "demo"
    summary = json.loads((res / "summary.json").read_text())
    records = [json.loads(p.read_text()) for p in sorted((res / "records").glob("*.json"))]
    return wall, summary, records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source-root", type=Path, default=REPO, help="holds data/prepared and artifacts/")
    ap.add_argument("--d-steps", type=int, default=300)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--default-threads", action="store_true",
                    help="also time sequential runs with torch's default thread count (all cores)")
    args = ap.parse_args()
    base = ["dataset=digits", "arch=sndcgan", "arch.width=0.125", f"trainer.d_steps={args.d_steps}",
            "trainer.batch_size=32", f"trainer.checkpoint_every={max(1, args.d_steps // 3)}",
            f"eval.every={max(1, args.d_steps // 3)}", "trainer.progress_bar=false"]
    overrides = ["study.base=[" + ",".join(f"'{o}'" for o in base) + "]",
                 "study.configurations.axes.norm=[spectral]", f"study.seeds=[{args.seeds}]"]
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load avg {os.getloadavg()[0]:.1f}; python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="bench_study_") as tmp:
        if args.default_threads:
            d_wall, _, d_recs = run_study(fresh_root(args.source_root, Path(tmp), "seq_default"),
                                          [*overrides, "study.task_options.torch_threads=null"])
        seq_wall, seq_sum, seq_recs = run_study(fresh_root(args.source_root, Path(tmp), "seq"), overrides)
        par_wall, par_sum, par_recs = run_study(fresh_root(args.source_root, Path(tmp), "par"),
                                                [*overrides, "hydra/launcher=parallel"])
    n = len(seq_recs)
    train = sum(r["wall_time_s"] for r in seq_recs)
    job = sum(r["study_wall_time_s"] for r in seq_recs)
    overhead = (seq_wall - train) / n
    print(f"\n1. per-run overhead, sequential local launcher, {n} runs of {args.d_steps} D steps:")
    print(f"   study command wall {seq_wall:.1f} s; training+evaluation (train wall_time_s) {train:.1f} s; "
          f"jobs {job:.1f} s")
    print(f"   overhead per run {overhead:.2f} s (process start, planning/hashing, launch, records, export)"
          f" = {overhead / (train / n):.1%} of a run's training time ({train / n:.1f} s)")
    print(f"   of which inside the job (compose for train, record write): {(job - train) / n:.2f} s per run")
    print(f"\n2. joblib 2 workers vs sequential, same {n} runs: sequential {seq_wall:.1f} s, parallel "
          f"{par_wall:.1f} s, speedup x{seq_wall / par_wall:.2f}")
    same = [r["fid_min"] for r in seq_recs] == [r["fid_min"] for r in par_recs]
    print(f"   same FIDs in both (determinism across launchers): {same}")
    print(f"   statuses: sequential {seq_sum['statuses']}, parallel {par_sum['statuses']}")
    if args.default_threads:
        print(f"\n3. sequential with torch's default threads ({os.cpu_count()}) instead of 1: {d_wall:.1f} s, "
              f"x{d_wall / seq_wall:.2f} the 1-thread time; mean run {sum(r['wall_time_s'] for r in d_recs) / n:.1f} s")


if __name__ == "__main__":
    main()
