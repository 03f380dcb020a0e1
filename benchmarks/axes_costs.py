"""Cost of the landscape axes, measured side by side in one run.

Prints, per architecture:
  * one D update (D on real + D on fake, NS loss, + penalty, backward) for each (norm, penalty) pair,
    as seconds and as a ratio to (norm=none, penalty=none);
  * one G forward+backward with the zero-insertion unpool computed literally (conv of a zero-inserted
    tensor) vs as a stride-2 transposed conv (ganaudit's default), and their ratio.

    python benchmarks/axes_costs.py                                  # CPU defaults: small widths
    python benchmarks/axes_costs.py --device cuda --width 1 --batch 64 --archs sndcgan:128 resnet19:128

Times are the best of --repeats interleaved rounds (every variant once per round), after one
warm-up call each: on a shared machine the minimum is the least disturbed figure.
"""

from __future__ import annotations

import argparse
import time

import torch

from ganaudit.axes.archs import ARCHS
from ganaudit.axes.archs.resnet import _Resample
from ganaudit.axes.losses import LOSSES
from ganaudit.axes.penalties import PENALTIES, PenaltyInputs


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _interleaved(fns: dict, device: str, repeats: int) -> dict:
    """Best time of ``repeats`` rounds, each round calling every function once (so background load
    on a shared machine hits all variants alike); one warm-up call each first."""
    for fn in fns.values():
        fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best[key] = min(best[key], time.perf_counter() - t0)
    return best


def _d_step(d, real, fake, pen):
    loss = LOSSES.get("ns")

    def step():
        d.zero_grad(set_to_none=True)
        terms = loss(d(real), d(fake))
        value = PENALTIES.get(pen)(PenaltyInputs(d, real, fake))
        (terms.d + 10.0 * value).backward()

    return step


def d_step_costs(arch: str, res: int, args) -> dict:
    """Seconds of one D update for every (norm, penalty) pair of ``arch``."""
    fns = {}
    real = torch.rand(args.batch, 3, res, res, device=args.device)
    for norm in ARCHS.get(arch).d_norms:
        torch.manual_seed(0)
        g, d = ARCHS.get(arch).build(res, norm, width=args.width)
        g, d = g.to(args.device), d.to(args.device)
        with torch.no_grad():
            fake = g(torch.rand(args.batch, 128, device=args.device) * 2 - 1)
        for pen in PENALTIES.names():
            fns[(norm, pen)] = _d_step(d, real, fake, pen)
    return _interleaved(fns, args.device, args.repeats)


def unpool_costs(arch: str, res: int, args) -> dict:
    """Seconds of one G forward+backward with the literal and the transposed-conv unpool."""
    fns = {}
    z = torch.rand(args.batch, 128, device=args.device) * 2 - 1
    for literal in (True, False):
        torch.manual_seed(0)
        g, _ = ARCHS.get(arch).build(res, "none", width=args.width)
        g = g.to(args.device)
        for m in g.modules():
            if isinstance(m, _Resample):
                m.literal_unpool = literal

        def step(g=g):
            g.zero_grad(set_to_none=True)
            g(z).mean().backward()

        fns["literal" if literal else "transposed"] = step
    return _interleaved(fns, args.device, args.repeats)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--archs", nargs="+", default=["sndcgan:32", "resnet_cifar:32"], help="arch:resolution")
    args = p.parse_args()
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# axes_costs: {where}; torch {torch.__version__}; width {args.width}; batch {args.batch}; "
          f"best of {args.repeats} interleaved rounds")
    for spec in args.archs:
        arch, res = spec.split(":")
        costs = d_step_costs(arch, int(res), args)
        base = costs[("none", "none")]
        print(f"\n## {arch}-{res}: one D update (NS loss + penalty), ratio to norm=none, penalty=none")
        print(f"{'norm':<9}{'penalty':<9}{'seconds':>10}{'ratio':>8}")
        for (norm, pen), t in costs.items():
            print(f"{norm:<9}{pen:<9}{t:>10.4f}{t / base:>8.2f}")
        if arch != "sndcgan":
            t = unpool_costs(arch, int(res), args)
            print(f"\n## {arch}-{res}: G forward+backward, unpool literal {t['literal']:.4f}s vs transposed "
                  f"{t['transposed']:.4f}s -> literal/transposed = {t['literal'] / t['transposed']:.2f}")


if __name__ == "__main__":
    main()
