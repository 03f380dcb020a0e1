"""Training-step benchmark: prints ratios measured side by side in one run.

    python benchmarks/bench_train_step.py                       # CPU: SNDCGAN-32, batch 64
    python benchmarks/bench_train_step.py --steps 4 --width 0.5 # quicker
    python benchmarks/bench_train_step.py --device cuda --arch resnet19   # GPU: ResNet19-128, batch 64

Rows:
  lightning   one D+G step of ganaudit's GANModule under a Lightning Trainer (time between consecutive
              on_train_batch_start calls: includes data fetching and every Lightning hook)
  bare        the same D+G step in a plain PyTorch loop over the same modules and data
  bare_gp     the bare step with the WGAN-GP penalty (lambda 10)
Ratios: lightning/bare (target <= 1.05), bare_gp/bare (paper: GP "roughly doubles"; <= 1.8 expected).
With --device cuda it also counts the FLOPs of one D+G step (torch.utils.flop_counter) and prints the
achieved TFLOP/s and its fraction of the peak given by --peak-tflops (default: H100 SXM dense FP32 67
and TF32 495). --precision sets the CUDA arithmetic as ``trainer.precision`` does: 32-true (default,
exact float32, TF32 off; figures measured before trainer.precision existed ran with PyTorch's default,
TF32 cuDNN convolutions) or tf32.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ganaudit.axes.archs import ARCHS
from ganaudit.axes.optim import make_adam
from ganaudit.data.datamodule import GANDataModule
from ganaudit.training.lit.gan_module import GANModule
from ganaudit.training.precision import training_precision

RES = {"sndcgan": 32, "resnet_cifar": 32, "resnet19": 128}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_steps(arch, norm, width, batch, steps, device, penalty: bool, data: torch.Tensor) -> list[float]:
    """Per-step seconds of a plain PyTorch NS D+G loop (n_dis 1) over the study's modules."""
    torch.manual_seed(0)
    G, D = ARCHS.get(arch).build(RES[arch], norm, width, 128)
    G, D = G.to(device).train(), D.to(device).train()
    od = make_adam("tf1", D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)  # as GANModule
    og = make_adam("tf1", G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    times = []
    for i in range(steps):
        _sync(device)
        t = time.perf_counter()
        real = data[i % len(data)].to(device)
        z = (torch.rand(batch, 128) * 2 - 1).to(device)
        with torch.no_grad():
            fake = G(z)
        loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        if penalty:
            a = torch.rand(batch, 1, 1, 1, device=device)
            x = (real + a * (fake - real)).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            loss = loss + 10 * ((torch.sqrt(1e-4 + g.square().flatten(1).sum(1)) - 1) ** 2).mean()
        od.zero_grad(set_to_none=True)
        loss.backward()
        od.step()
        D.requires_grad_(False)
        gl = F.softplus(-D(G(z))).mean()
        og.zero_grad(set_to_none=True)
        gl.backward()
        og.step()
        D.requires_grad_(True)
        float(loss.detach())  # the module checks finiteness every step; do the same sync here
        _sync(device)
        times.append(time.perf_counter() - t)
    return times


class _Timer(pl.Callback):
    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        _sync(pl_module.device)
        self.starts.append(time.perf_counter())

    def on_train_end(self, trainer, pl_module):
        _sync(pl_module.device)
        self.starts.append(time.perf_counter())


def lightning_steps(arch, norm, width, batch, steps, device, images: np.ndarray) -> list[float]:
    """Per-step seconds of GANModule under a Lightning Trainer (no checkpoints, no logger)."""
    pl.seed_everything(0, verbose=False)
    module = GANModule(arch=arch, resolution=RES[arch], norm=norm, width=width, log_every=50)
    timer = _Timer()
    trainer = pl.Trainer(max_steps=steps, max_epochs=-1, accelerator="gpu" if device.type == "cuda" else "cpu",
                         devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
                         use_distributed_sampler=False, callbacks=[timer], deterministic=False)
    trainer.fit(module, datamodule=GANDataModule.from_arrays(images, batch_size=batch, seed=0))
    return [b - a for a, b in itertools.pairwise(timer.starts)]


def step_flops(arch, norm, width, batch, device) -> int:
    """FLOPs of one NS D+G step (forward + backward, n_dis 1) counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    G, D = ARCHS.get(arch).build(RES[arch], norm, width, 128)
    G, D = G.to(device).train(), D.to(device).train()
    real = torch.rand(batch, 3, RES[arch], RES[arch], device=device)
    z = torch.rand(batch, 128, device=device) * 2 - 1
    with FlopCounterMode(display=False) as fc:
        with torch.no_grad():
            fake = G(z)
        (F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()).backward()
        D.requires_grad_(False)
        F.softplus(-D(G(z))).mean().backward()
    return int(fc.get_total_flops())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--arch", default=None, help="default: sndcgan on cpu, resnet19 on cuda")
    ap.add_argument("--norm", default="spectral")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per row (after --warmup)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="CPU intra-op threads (0: torch default)")
    ap.add_argument("--peak-tflops", type=float, nargs="*", default=[67.0, 495.0])
    ap.add_argument("--precision", default="32-true", choices=["32-true", "tf32"])
    args = ap.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)  # on a shared CPU, OpenMP spin-waiting distorts timings
    arch = args.arch or ("resnet19" if device.type == "cuda" else "sndcgan")
    r, n = RES[arch], args.warmup + args.steps
    images = np.random.default_rng(0).integers(0, 256, (args.batch * 4, r, r, 3), dtype=np.uint8)
    data = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().float().div(255).split(args.batch)
    common = (arch, args.norm, args.width, args.batch)
    # interleaved: bare, lightning, bare again, gp; medians over the timed steps
    with training_precision(args.precision):
        bare = bare_steps(*common, n, device, False, data)[args.warmup:]
        light = lightning_steps(*common, n, device, images)[args.warmup:]
        bare += bare_steps(*common, n, device, False, data)[args.warmup:]
        gp = bare_steps(*common, n, device, True, data)[args.warmup:]
    med = {k: statistics.median(v) for k, v in (("lightning", light), ("bare", bare), ("bare_gp", gp))}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"# {arch}-{r} norm={args.norm} width={args.width} batch={args.batch} precision={args.precision} "
          f"on {name}; torch {torch.__version__}")
    print(f"{'row':12s} {'median s/step':>14s} {'min':>9s} {'max':>9s}  n")
    for k, v in (("lightning", light), ("bare", bare), ("bare_gp", gp)):
        print(f"{k:12s} {med[k]:14.4f} {min(v):9.4f} {max(v):9.4f}  {len(v)}")
    print(f"ratio lightning/bare = {med['lightning'] / med['bare']:.3f} median, "
          f"{min(light) / min(bare):.3f} min   (target <= 1.05)")
    print(f"ratio gp/no-penalty  = {med['bare_gp'] / med['bare']:.3f} median, "
          f"{min(gp) / min(bare):.3f} min   (paper: GP roughly doubles; <= 1.8 expected)")
    if device.type == "cuda":
        flops = step_flops(*common, device)
        achieved = flops / med["lightning"] / 1e12
        print(f"FLOPs per D+G step = {flops / 1e9:.1f} GFLOP; achieved {achieved:.2f} TFLOP/s (lightning step)")
        for peak in args.peak_tflops:
            print(f"fraction of a {peak:g} TFLOP/s peak = {achieved / peak:.3f}")


if __name__ == "__main__":
    main()
