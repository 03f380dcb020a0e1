"""Determinism over every combination the study allows (loss x penalty x norm x arch): 2 D steps at
width 1/16, batch 4, through the training core's step functions (ganaudit.training.lit.steps) and Adam.

A user tool too: ``pytest -m determinism`` on any machine; ``GANAUDIT_DEVICE=cuda pytest -m
determinism`` runs on a GPU with ``torch.use_deterministic_algorithms(True)`` and
``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (set in conftest before CUDA starts) and reports per combination:
bit-identical, equal within GPU_RTOL, or the operation lacking a deterministic kernel (skipped with
that reason). On the CPU every combination must be bit-identical.
"""

from __future__ import annotations

import os

import pytest
import torch

from ganaudit.axes.archs import ARCHS, sample_z
from ganaudit.axes.losses import LOSSES
from ganaudit.axes.norms import NORMS
from ganaudit.axes.optim import make_adam
from ganaudit.axes.penalties import PENALTIES
from ganaudit.training.lit.steps import plain_step, updates_generator
from ganaudit.utils.errors import ConfigError
from tests.training.conftest import DETERMINISM_REPORT, TINY_WIDTH

pytestmark = [pytest.mark.determinism, pytest.mark.timeout(600)]
RESOLUTION = {"sndcgan": 32, "resnet_cifar": 32, "resnet19": 128}  # the study's resolutions
GPU_RTOL = 1e-5  # stated tolerance for "equal within tolerance" on GPUs
DET_WIDTH = TINY_WIDTH  # 1/16: 200 combinations x 2 runs stay well within a minute on 2 CPU cores


def _allowed(arch: str, norm: str) -> bool:
    try:
        ARCHS.get(arch).check(RESOLUTION.get(arch, 32), norm)
        return True
    except ConfigError:
        return False


ARCH_NORMS = [(a, n) for a in ARCHS for n in NORMS if _allowed(a, n)]
COMBOS = [(a, n, loss, pen) for (a, n) in ARCH_NORMS for loss in LOSSES for pen in PENALTIES]


def run_steps(arch, norm, loss, penalty, seed, device, steps=2, n_dis=1, batch=4, width=TINY_WIDTH,
              conv_kernels="aten"):
    """Init with ``seed``, train ``steps`` D steps on fixed data; returns (state_dict, losses)."""
    res = RESOLUTION.get(arch, 32)
    data = torch.rand(max(steps, 1), batch, 3, res, res, generator=torch.Generator().manual_seed(123)).to(device)
    torch.manual_seed(seed)
    G, D = ARCHS.get(arch).build(res, norm, width, 128, "v2", conv_kernels)
    G, D = G.to(device).train(), D.to(device).train()
    opt_d = make_adam("tf1", D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)  # the default Adam
    opt_g = make_adam("tf1", G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    loss_fn, pen_fn = LOSSES.get(loss), None if penalty == "none" else PENALTIES.get(penalty)
    losses = []
    for step in range(1, steps + 1):
        z = sample_z(batch, 128).to(device)
        d_loss, g_loss = plain_step(G, D, loss_fn, pen_fn, 10.0 if penalty != "l2" else 0.01, data[step - 1], z,
                                    opt_d, opt_g if updates_generator(step, n_dis) else None)
        losses += [float(loss.detach()) for loss in (d_loss, g_loss) if loss is not None]
    state = {f"G.{k}": v.detach().cpu().clone() for k, v in G.state_dict().items()}
    state |= {f"D.{k}": v.detach().cpu().clone() for k, v in D.state_dict().items()}
    return state, losses


@pytest.fixture(autouse=True)
def _deterministic_algorithms(device):
    """Deterministic kernels on GPUs. On the CPU the check is empirical (bit-identical reruns):
    ``use_deterministic_algorithms`` there only swaps in slower oneDNN paths."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(device.type == "cuda")
    yield
    torch.use_deterministic_algorithms(before)


def _max_rel_diff(a: dict, b: dict) -> float:
    worst = 0.0
    for k in a:
        if a[k].is_floating_point():
            d = (a[k] - b[k]).abs().max().item()
            worst = max(worst, d / max(a[k].abs().max().item(), 1e-12))
    return worst


def _check(arch, norm, loss, penalty, device, *, width, batch, steps, trained_seed_check):
    combo = f"{arch}/{norm}/{loss}/{penalty}"
    kw = dict(width=width, batch=batch, steps=steps)
    try:
        s1, l1 = run_steps(arch, norm, loss, penalty, 0, device, **kw)
        s2, l2 = run_steps(arch, norm, loss, penalty, 0, device, **kw)
    except RuntimeError as exc:  # e.g. "... does not have a deterministic implementation ..."
        if "deterministic" not in str(exc):
            raise
        DETERMINISM_REPORT[combo] = f"no deterministic kernel: {str(exc).splitlines()[0][:120]}"
        pytest.skip(DETERMINISM_REPORT[combo])
    assert all(torch.isfinite(torch.tensor(l1))), f"non-finite loss in {steps} D steps: {l1}"
    identical = l1 == l2 and all(torch.equal(s1[k], s2[k]) for k in s1)
    if identical:
        DETERMINISM_REPORT[combo] = "bit-identical"
    else:
        diff = _max_rel_diff(s1, s2)
        assert device.type != "cpu", f"CPU run not bit-identical (max relative diff {diff:.3g})"
        assert diff <= GPU_RTOL, f"{combo}: max relative diff {diff:.3g} > {GPU_RTOL}"
        DETERMINISM_REPORT[combo] = f"equal within rtol {GPU_RTOL} (max {diff:.2g})"
    # another seed: other init (and, when trained, other z / alpha / noise)
    s3, _ = run_steps(arch, norm, loss, penalty, 1, device, **{**kw, "steps": steps if trained_seed_check else 0})
    ref = s1 if trained_seed_check else run_steps(arch, norm, loss, penalty, 0, device, **{**kw, "steps": 0})[0]
    assert any(not torch.equal(ref[k], s3[k]) for k in s3 if k.endswith("weight") or "original" in k)


@pytest.mark.parametrize("arch,norm,loss,penalty", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_every_combination_two_d_steps_finite_and_bit_identical(arch, norm, loss, penalty, device):
    """Tiny (width 1/16, batch 4, 2 D steps): same seed -> same bits; another seed -> other init."""
    _check(arch, norm, loss, penalty, device, width=DET_WIDTH, batch=4, steps=2, trained_seed_check=False)


@pytest.mark.slow
@pytest.mark.parametrize("arch,norm,loss,penalty", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_every_combination_larger_same_seed_identical_other_seed_differs(arch, norm, loss, penalty, device):
    """Larger (width 1/4, batch 8, 3 D steps, n_dis 1; ResNet19 at 128 px by default width 1/8, so that
    the whole cross-product fits CI on 2 CPU cores); trained weights differ across seeds.
    ``GANAUDIT_DET_LARGE_WIDTH=0.25`` runs every architecture at width 1/4."""
    width = float(os.environ.get("GANAUDIT_DET_LARGE_WIDTH", 0.125 if arch == "resnet19" else 0.25))
    _check(arch, norm, loss, penalty, device, width=width, batch=8, steps=3, trained_seed_check=True)


def test_every_registered_option_is_covered():
    """The cross-product enumerates the registries (nothing hand-listed can drift)."""
    assert {c[0] for c in COMBOS} == set(ARCHS) and {c[1] for c in COMBOS} == set(NORMS)
    assert {c[2] for c in COMBOS} == set(LOSSES) and {c[3] for c in COMBOS} == set(PENALTIES)
    assert ("sndcgan", "batch") not in ARCH_NORMS and ("sndcgan", "layer") not in ARCH_NORMS
    assert len(COMBOS) == len(ARCH_NORMS) * len(LOSSES) * len(PENALTIES) == 10 * 5 * 4
