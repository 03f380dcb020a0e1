"""Cost of verifying each prepared shard's sha256 on first read (SplitView.verify), side by side.

Builds a synthetic store (default 200,000 images of 32x32, shards of 2,048 as prepared stores use),
then reads every image once in a shuffled order in batches of 64, as an epoch of GANDataModule does:
  A  verify=False (no digest check)          B  verify=True (each shard hashed on its first read)
  C  verify=False again (warm page cache, to separate caching from hashing)
and the sha256 throughput of this machine over the same bytes, to extrapolate to 128x128 stores.

    python benchmarks/bench_integrity.py                      # 200k x 32x32 (~0.6 GB temporary disk)
    python benchmarks/bench_integrity.py --n 20000 --res 128  # 20k x 128x128 (~1 GB)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH, SHARD = 64, 2048


def build(out: Path, n: int, res: int) -> None:
    from ganaudit.data.store import MANIFEST, atomic_write_bytes, dumps, write_shard

    shards = []
    for k, start in enumerate(range(0, n, SHARD)):
        count = min(SHARD, n - start)
        images = np.random.default_rng(k).integers(0, 256, (count, res, res, 3), np.uint8)
        meta = write_shard(out, "train", k, [f"syn/{start + i}" for i in range(count)], images)
        shards.append({"count": count, "sha256": meta["sha256"], "items_sha256": meta["items_sha256"]})
    manifest = {"dataset": "synthetic", "resolution": res, "splits": {"train": {"size": n, "shards": shards}}}
    atomic_write_bytes(out / MANIFEST, dumps(manifest))


def epoch(store: Path, verify: bool) -> float:
    """Seconds to read every image once, shuffled, in batches of 64, through a fresh SplitView."""
    from ganaudit.data.store import open_view

    view = open_view(store, "train")
    view.verify = verify
    order = np.random.default_rng(0).permutation(len(view))
    t = time.perf_counter()
    for start in range(0, len(order), BATCH):
        view.read_rows(order[start : start + BATCH])
    return time.perf_counter() - t


def sha256_rate(store: Path) -> float:
    """GB/s of hashlib.sha256 over the store's shard files (from the page cache)."""
    total, t = 0, time.perf_counter()
    for path in sorted((store / "train").glob("*.npy")):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(8 << 20):
                h.update(block)
                total += len(block)
    return total / (time.perf_counter() - t) / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ganaudit-integrity-"))
    try:
        t = time.perf_counter()
        build(root, args.n, args.res)
        built = time.perf_counter() - t
        gb = args.n * args.res * args.res * 3 / 1e9
        a, b, c = epoch(root, False), epoch(root, True), epoch(root, False)
        rate = sha256_rate(root)
        out = {"n": args.n, "res": args.res, "store_gb": round(gb, 3), "build_s": round(built, 1),
               "epoch_noverify_s": round(a, 3), "epoch_verify_s": round(b, 3), "epoch_noverify_warm_s": round(c, 3),
               "verify_overhead_s": round(b - min(a, c), 3), "ratio_verify_vs_not": round(b / min(a, c), 3),
               "sha256_gb_per_s": round(rate, 3),
               "extrapolated_200k_128px_verify_s": round(200_000 * 128 * 128 * 3 / 1e9 / rate, 1)}
        print(f"store: {args.n} images {args.res}x{args.res} ({gb:.2f} GB), built in {built:.0f} s")
        print(f"one shuffled epoch, batch {BATCH}:  no check {min(a, c):.2f} s | shard digests checked {b:.2f} s "
              f"| ratio {b / min(a, c):.2f}x (+{b - min(a, c):.2f} s, once per process)")
        print(f"sha256 {rate:.2f} GB/s -> a 200k x 128x128 store (9.83 GB) costs "
              f"{out['extrapolated_200k_128px_verify_s']} s of hashing once per process")
        print(json.dumps(out))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
