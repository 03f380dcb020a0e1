"""Data benchmarks, measured side by side in one run; prints ratios.

1. Peak memory (max RSS of the process and of its worker processes) while PREPARING and while
   ITERATING a synthetic store of 128×128 images at two sizes (default 20,000 and 200,000 images):
   the ratio large/small should be ~1 (flat in the number of images). Each phase runs in a fresh
   subprocess so the peaks do not mix.
2. GANDataModule read throughput (images/s) with 0 and 2 workers, batch 64, on the large 128² store
   and on the digits 32² store, against the training step's consumption at batch 64 (SNDCGAN-32 on
   this CPU: ~1.45 s per step, ../shared/ENVIRONMENT.md, i.e. ~44 images/s).

    python benchmarks/bench_data.py                         # 20k vs 200k (~10 GB temporary disk)
    python benchmarks/bench_data.py --sizes 2000 20000      # quicker
The temporary stores are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

TRAIN_STEP_S = 1.45  # SNDCGAN-32, batch 64, D+G step on this machine (ENVIRONMENT.md)
BATCH = 64


@dataclass
class SyntheticSource:
    """``count`` deterministic pseudo-random 128² images (image i from default_rng(i))."""

    count: int
    resolution: int = 128

    def read(self, indices: Sequence[int]) -> Iterator[tuple[str, np.ndarray]]:
        r = self.resolution
        for i in indices:
            yield f"syn/{int(i)}", np.random.default_rng(int(i)).integers(0, 256, (r, r, 3), np.uint8)

    def test_indices(self, seed: int, n_test: int) -> np.ndarray:
        from ganaudit.data.registry import seeded_test_indices

        return seeded_test_indices(self.count, seed, n_test)


def _peak_mib() -> tuple[float, float]:
    """(max RSS of this process, max RSS of any waited-for child), MiB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def phase_prepare(n: int, out: Path, workers: int) -> dict:
    from ganaudit.data.prepare import build_store
    from ganaudit.data.store import MANIFEST, atomic_write_bytes, dumps

    header = {"dataset": "synthetic", "preprocessing_version": "bench", "resolution": 128,
              "seed": 0, "n_total": n, "n_test": max(n // 100, 1), "shard_size": 2048}
    t = time.perf_counter()
    manifest = build_store(SyntheticSource(n), out, header, workers=workers, progress=False)
    atomic_write_bytes(out / MANIFEST, dumps(manifest))
    wall = time.perf_counter() - t
    own, kids = _peak_mib()
    return {"n": n, "wall_s": wall, "images_per_s": n / wall, "rss_main_mib": own,
            "rss_worker_mib": kids}


def phase_iterate(store: Path, workers: int, batches: int) -> dict:
    from ganaudit.data.datamodule import GANDataModule
    from ganaudit.data.store import open_view

    view = open_view(store, "train")
    dm = GANDataModule.from_rows(view, BATCH, seed=0, num_workers=workers)
    it = iter(dm.train_dataloader())
    next(it)  # worker start-up is not throughput
    t = time.perf_counter()
    for _ in range(batches):
        b = next(it)
    wall = time.perf_counter() - t
    del it
    own, kids = _peak_mib()
    return {"n": len(view), "res": int(b.shape[-1]), "workers": workers,
            "images_per_s": batches * BATCH / wall, "rss_main_mib": own, "rss_worker_mib": kids}


def _sub(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs=2, default=[20000, 200000])
    p.add_argument("--workers", type=int, default=2, help="preparation processes")
    p.add_argument("--batches", type=int, default=200, help="batches of 64 read per measurement")
    p.add_argument("--dir", type=Path, default=None, help="scratch dir (default: a temp dir)")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    scratch = Path(args.dir or tempfile.mkdtemp(prefix="bench_data_"))
    rows = {}
    try:
        for n in args.sizes:
            store = scratch / f"syn{n}"
            rows[("prep", n)] = _sub("_prepare", str(n), str(store), str(args.workers))
            rows[("iter", n)] = _sub("_iterate", str(store), "0", str(args.batches))
            print(f"N={n:>7}: prepare {rows[('prep', n)]['wall_s']:.1f} s "
                  f"({rows[('prep', n)]['images_per_s']:.0f} img/s), peak RSS main "
                  f"{rows[('prep', n)]['rss_main_mib']:.0f} MiB / worker "
                  f"{rows[('prep', n)]['rss_worker_mib']:.0f} MiB; iterate peak RSS "
                  f"{rows[('iter', n)]['rss_main_mib']:.0f} MiB", flush=True)
        small, large = args.sizes
        for phase, key in (("prep", "rss_main_mib"), ("prep", "rss_worker_mib"), ("iter", "rss_main_mib")):
            ratio = rows[(phase, large)][key] / rows[(phase, small)][key]
            print(f"peak memory ratio {phase}/{key} N={large} vs N={small}: {ratio:.2f}x "
                  f"(images ratio {large / small:.0f}x)")
        need = BATCH / TRAIN_STEP_S
        digits = scratch / "digits"
        from ganaudit.data.prepare import prepare

        prepare("digits", None, digits, splits_dir=scratch / "splits", progress=False)
        for label, store in (("128px synthetic N=%d" % large, scratch / f"syn{large}"), ("32px digits", digits)):
            for w in (0, 2):
                r = _sub("_iterate", str(store), str(w), str(args.batches))
                print(f"read {label}, num_workers={w}: {r['images_per_s']:.0f} img/s = "
                      f"{r['images_per_s'] / need:.0f}x the SNDCGAN-32 training consumption "
                      f"({need:.0f} img/s at batch {BATCH}, {TRAIN_STEP_S} s/step)")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_prepare":
        print(json.dumps(phase_prepare(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_iterate":
        print(json.dumps(phase_iterate(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
