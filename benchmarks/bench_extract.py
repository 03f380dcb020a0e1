"""Extraction throughput and peak memory of a 10k-sample evaluation, side by side in one run.

    python benchmarks/bench_extract.py [--inception-images 32] [--n-fake 10000]

1. Throughput (images/s) of the FID Inception extractor (TF1 resize 32->299 + network) with RANDOM
   weights (the published file cannot be downloaded here; speed does not depend on the values), and
   of the digits CNN extractor, on this CPU.
2. Peak memory of a streamed evaluation of ``--n-fake`` generated 32x32 samples, measured in a fresh
   child process (peak RSS minus the RSS after imports and model set-up). Inception is too slow for
   10k images on 2 CPU cores, so the 10k run uses the digits extractor; a smaller Inception run
   (``--inception-fakes``) is measured the same way and stated as such.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def throughput(extractor, images: torch.Tensor, batch: int) -> float:
    extractor(images[:2])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(images), batch):
        extractor(images[i : i + batch])
    if images.is_cuda:
        torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - t)


def random_inception():
    from ganaudit.metrics.inception import FIDInception, InceptionExtractor

    torch.manual_seed(0)
    net = FIDInception()
    for m in net.modules():  # sane random BN statistics so activations stay finite
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 1.5)
    return InceptionExtractor(net, "random-weights")


def random_digits():
    from ganaudit.metrics.digits_cnn import DigitsCNN, DigitsExtractor

    torch.manual_seed(0)
    return DigitsExtractor(DigitsCNN(), "random-weights")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def memory_child(extractor_name: str, n_fake: int) -> None:
    """Run one streamed evaluation in this (fresh) process and print its peak-RSS increase."""
    sys.path.insert(0, str(ROOT))
    import ganaudit.data
    import ganaudit.metrics.evaluate as ev
    from ganaudit.metrics.protocols import protocol_for
    from tests.metrics.conftest import FakeView, TinyGenerator

    ext = random_inception() if extractor_name == "inception" else random_digits()
    base = protocol_for("digits")
    proto = dataclasses.replace(base, extractor=extractor_name, n_fake={"digits": n_fake},
                                n_real={"digits": min(500, n_fake)}, extract_batch=50)
    view = FakeView(np.random.default_rng(0).integers(0, 256, (500, 32, 32, 3), dtype=np.uint8))
    ganaudit.data.open_split = lambda *a: view
    ev.protocol_for = lambda dataset, protocol: proto
    ev.EXTRACTORS = type("R", (), {"get": staticmethod(lambda name: (lambda weights_dir: ext))})()
    gen = TinyGenerator()
    before = rss_mb()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = ev.evaluate_generator(gen, dataset="digits", protocol="x", data_dir=tmp, artifacts_dir=tmp,
                                    record_path=None, context={})
    print(json.dumps({"setup_peak_mb": before, "peak_rss_mb": rss_mb(),
                      "seconds": time.perf_counter() - t, "fid": out["fid"], "n_fake": n_fake}))


def measure_memory(extractor_name: str, n_fake: int) -> dict:
    cmd = [sys.executable, __file__, "--memory-child", extractor_name, "--n-fake", str(n_fake)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inception-images", type=int, default=32)
    parser.add_argument("--n-fake", type=int, default=10_000)
    parser.add_argument("--inception-fakes", type=int, default=200)
    parser.add_argument("--memory-child", default=None)
    parser.add_argument("--device", default="cpu", help="cuda: throughput only (no memory runs)")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.n_fake)
        return
    if args.device != "cpu":
        dev = torch.device(args.device)
        print(f"device: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}")
        for batch in (50, 200):
            ext = random_inception().to(dev)
            ext.chunk = batch
            imgs = torch.rand(4 * batch, 3, 32, 32, device=dev) * 255
            throughput(ext, imgs, batch)
            torch.cuda.synchronize()
            rate = throughput(ext, imgs, batch)
            torch.cuda.synchronize()
            print(f"Inception extractor (random weights, fp32 no TF32) on {args.device}, batch {batch}: "
                  f"{rate:8.1f} images/s")
        return
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}")
    images = torch.rand(args.inception_images, 3, 32, 32) * 255
    inc = throughput(random_inception(), images, batch=16)
    dig = throughput(random_digits(), torch.rand(2000, 3, 32, 32) * 255, batch=250)
    print(f"Inception extractor (random weights, 32->299 resize + net), batch 16: {inc:8.1f} images/s")
    print(f"digits CNN extractor, batch 250:                                {dig:8.1f} images/s")
    print(f"ratio digits / Inception:                                        {dig / inc:8.0f} x")
    mem = measure_memory("digits_cnn", args.n_fake)
    inception_mem = measure_memory("inception", args.inception_fakes)
    for label, m in (("digits extractor", mem), ("Inception, random weights", inception_mem)):
        print(f"streamed evaluation of {m['n_fake']} fakes ({label}): whole-process peak RSS "
              f"{m['peak_rss_mb']:.0f} MB (high-water after imports/set-up {m['setup_peak_mb']:.0f} MB), "
              f"{m['seconds']:.1f} s")
    all_images_mb = args.n_fake * 3 * 299 * 299 * 4 / 2**20
    print(f"for scale: {args.n_fake} images held at once as float32 299x299 would take {all_images_mb:.0f} MB")


if __name__ == "__main__":
    main()
