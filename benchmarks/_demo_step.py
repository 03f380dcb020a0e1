"""What the step benchmarks share (not a benchmark itself): a best-of-rounds CPU timer, and the demo's
models with one D+G update as a closure (SNDCGAN width 1/8, batch 32, 32x32, SN, hinge, TF1 Adam,
n_dis 1; random images in place of digits). Imported by the scripts in this folder, whose own folder is
on ``sys.path`` when they run."""

from __future__ import annotations

import time


def cpu_seconds(f, reps: int) -> float:
    """CPU seconds per call of ``f`` over ``reps`` calls, after one warm call."""
    f()
    t0 = time.process_time()
    for _ in range(reps):
        f()
    return (time.process_time() - t0) / reps


def best_cpu_seconds(f, reps: int, rounds: int = 3) -> float:
    """The best of ``rounds`` rounds of :func:`cpu_seconds`."""
    return min(cpu_seconds(f, reps) for _ in range(rounds))


def demo_models_and_step(conv_kernels: str = "aten"):
    """(G, D, step): the demo's networks (seed 0, ``arch.conv_kernels`` = ``conv_kernels``) and a function
    running one D update and one G update on them (``training.lit.steps.plain_step``, no Lightning)."""
    import numpy as np
    import torch

    from ganaudit.axes.archs import ARCHS, sample_z
    from ganaudit.axes.fixed_conv import set_conv_kernels
    from ganaudit.axes.losses import LOSSES
    from ganaudit.axes.optim import make_adam
    from ganaudit.training.lit.steps import plain_step

    n, rows, loss_fn, gen = 32, torch.rand(512, 3, 32, 32), LOSSES.get("hinge"), np.random.default_rng(0)
    torch.manual_seed(0)
    G, D = ARCHS.get("sndcgan").build(32, "spectral", 0.125, 128)
    for net in (G, D):
        set_conv_kernels(net, conv_kernels)
    opt_d, opt_g = (make_adam("tf1", m.parameters(), lr=1e-3, betas=(0.5, 0.9), eps=1e-8) for m in (D, G))

    def step() -> None:
        real, z = rows[torch.from_numpy(gen.integers(0, 512, n))], sample_z(n, 128)
        plain_step(G, D, loss_fn, None, 0.0, real, z, opt_d, opt_g)

    return G, D, step


def print_rounds(times: dict[str, list[float]], ratio: tuple[str, str], indent: str = "  ") -> None:
    """One line per variant (its CPU ms per round, median, min), then ``ratio[0] / ratio[1]`` of medians."""
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    for label, v in times.items():
        print(f"{indent}{label:6s} {' '.join(f'{x:.1f}' for x in v)}  (median {med[label]:.1f}, min {min(v):.1f})")
    print(f"{indent}{ratio[0]} / {ratio[1]}: {med[ratio[0]] / med[ratio[1]]:.2f} (medians)")
