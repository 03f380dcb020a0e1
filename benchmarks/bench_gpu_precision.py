"""Step time of exact float32 vs TF32 (``trainer.precision``), measured side by side in one run.

    python benchmarks/bench_gpu_precision.py                      # CUDA: ResNet19-128, batch 64
    python benchmarks/bench_gpu_precision.py --arch sndcgan --steps 30

Rows (the study's NS D+G step, n_dis 1, spectral norm, TF1 Adam, bare PyTorch loop):
  32-true   exact float32: TF32 off for CUDA matmuls and cuDNN convolutions (ganaudit's default)
  tf32      TF32 allowed for both (opt-in speed mode)
Rows are interleaved (32-true, tf32, 32-true, tf32) on the same modules and data; medians over the
timed steps. Ratio 32-true/tf32 = the cost of study-exact arithmetic. On a CPU the flags do nothing
(the ratio is ~1; printed with a note).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganaudit.axes.archs import ARCHS
from ganaudit.axes.losses import LOSSES
from ganaudit.axes.optim import make_adam
from ganaudit.training.lit.steps import plain_step
from ganaudit.training.precision import training_precision

RES = {"sndcgan": 32, "resnet_cifar": 32, "resnet19": 128}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_steps(arch: str, batch: int, steps: int, device: torch.device, precision: str) -> list[float]:
    """Per-step seconds of ``steps`` D+G steps under ``trainer.precision = precision``."""
    torch.manual_seed(0)
    G, D = ARCHS.get(arch).build(RES[arch], "spectral", 1.0, 128)
    G, D = G.to(device).train(), D.to(device).train()
    opt_d = make_adam("tf1", D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_g = make_adam("tf1", G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    loss_fn = LOSSES.get("ns")
    real = torch.rand(batch, 3, RES[arch], RES[arch], device=device)
    times = []
    with training_precision(precision):
        for _ in range(steps):
            _sync(device)
            t = time.perf_counter()
            z = (torch.rand(batch, 128) * 2 - 1).to(device)
            d_loss, _ = plain_step(G, D, loss_fn, None, 0.0, real, z, opt_d, opt_g)
            float(d_loss.detach())  # the training loop checks finiteness every step
            _sync(device)
            times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--arch", default="resnet19", choices=sorted(RES))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per row and round (after --warmup)")
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    device = torch.device(args.device)
    n = args.warmup + args.steps
    rows: dict[str, list[float]] = {"32-true": [], "tf32": []}
    for _ in range(2):  # interleaved rounds
        for prec in rows:
            rows[prec] += timed_steps(args.arch, args.batch, n, device, prec)[args.warmup:]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    print(f"# {args.arch}-{RES[args.arch]} batch {args.batch}, NS + SN, TF1 Adam, on {name}; torch {torch.__version__}")
    print(f"{'precision':10s} {'median s/step':>14s} {'min':>9s} {'max':>9s}  n")
    for prec, v in rows.items():
        print(f"{prec:10s} {statistics.median(v):14.4f} {min(v):9.4f} {max(v):9.4f}  {len(v)}")
    ratio = statistics.median(rows["32-true"]) / statistics.median(rows["tf32"])
    print(f"ratio 32-true/tf32 = {ratio:.3f} median, {min(rows['32-true']) / min(rows['tf32']):.3f} min")
    if device.type != "cuda":
        print("note: on a CPU the TF32 flags have no effect; run on a CUDA GPU for the real figure")


if __name__ == "__main__":
    main()
