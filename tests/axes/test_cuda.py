"""CUDA agreement of the axes (run with ``pytest -m gpu tests/axes``; skipped without a CUDA device).

The same weights on CPU and GPU in float64 must give the same G images, D logits, losses and L2
penalty; gradient penalties keep their exact value on a linear D; every module follows ``.to(device)``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganaudit.axes.archs import ARCHS, sample_z, unpool
from ganaudit.axes.archs.resnet import unpool_conv
from ganaudit.axes.losses import LOSSES
from ganaudit.axes.penalties import PENALTIES, PenaltyInputs

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CASES = [(a, 128 if a == "resnet19" else 32, n) for a in ARCHS.names() for n in ARCHS.get(a).d_norms]


@pytest.mark.parametrize(("arch", "res", "norm"), CASES)
def test_cpu_and_cuda_agree_in_float64(arch, res, norm):
    torch.manual_seed(0)
    g, d = ARCHS.get(arch).build(res, norm, width=0.25)
    g, d = g.double(), d.double()
    z = sample_z(4, 128, torch.Generator().manual_seed(1)).double()
    x_cpu = g(z)
    logits_cpu = d(x_cpu)
    torch.manual_seed(0)
    g2, d2 = ARCHS.get(arch).build(res, norm, width=0.25)  # same seed -> same weights and SN vectors
    g2, d2 = g2.double().cuda(), d2.double().cuda()
    x_gpu = g2(z.cuda())
    logits_gpu = d2(x_gpu)
    torch.testing.assert_close(x_gpu.cpu(), x_cpu, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(logits_gpu.cpu(), logits_cpu, rtol=1e-8, atol=1e-8)
    for name in LOSSES.names():
        a, b = LOSSES.get(name)(logits_cpu, logits_cpu), LOSSES.get(name)(logits_gpu, logits_gpu)
        assert b.d.item() == pytest.approx(a.d.item(), rel=1e-8, abs=1e-10)
    l2_cpu = PENALTIES.get("l2")(PenaltyInputs(d, x_cpu, x_cpu))
    l2_gpu = PENALTIES.get("l2")(PenaltyInputs(d2, x_gpu, x_gpu))
    assert l2_gpu.item() == pytest.approx(l2_cpu.item(), rel=1e-10)
    for name in ("wgan_gp", "dragan"):
        value = PENALTIES.get(name)(PenaltyInputs(d2, x_gpu.detach(), x_gpu.detach()))
        assert value.device.type == "cuda" and torch.isfinite(value)
        value.backward()
        assert all(torch.isfinite(w.grad).all() for w in d2.penalized_weights())


@pytest.mark.parametrize("name", ["wgan_gp", "dragan"])
def test_gradient_penalty_exact_on_cuda_linear_d(name):
    w = torch.linspace(-0.1, 0.05, 3 * 8 * 8, device="cuda")
    d = torch.nn.Linear(w.numel(), 1).cuda()
    with torch.no_grad():
        d.weight.copy_(w[None])

    def disc(x):  # a plain callable is enough for the penalty
        return d(x.flatten(1))[:, 0]

    real = torch.rand(4, 3, 8, 8, device="cuda")
    value = PENALTIES.get(name)(PenaltyInputs(disc, real, torch.rand_like(real)))
    expected = (math.sqrt(1e-4 + float((w.double() ** 2).sum())) - 1) ** 2
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_unpool_conv_on_cuda():
    x = torch.randn(2, 8, 5, 5, device="cuda", dtype=torch.float64)
    w = torch.randn(4, 8, 3, 3, device="cuda", dtype=torch.float64)
    b = torch.randn(4, device="cuda", dtype=torch.float64)
    torch.testing.assert_close(unpool_conv(x, w, b), F.conv2d(unpool(x), w, b, padding=1))
