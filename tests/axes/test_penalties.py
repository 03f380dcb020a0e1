"""Penalties (spec §2): exact values on a linear D, a reference on a quadratic D, L2 counts and sums."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ganaudit.axes.archs import ARCHS
from ganaudit.axes.penalties import PENALTIES, PenaltyInputs, penalized_weights
from ganaudit.utils.errors import ConfigError

pytestmark = pytest.mark.timeout(120)  # builds and backprops real (tiny) networks
ALL = PENALTIES.names()
SHAPE = (4, 3, 4, 4)


class LinearD(nn.Module):
    """D(x) = <w, x> + b: its input gradient is w at every x."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.fc = nn.Linear(w.numel(), 1)
        with torch.no_grad():
            self.fc.weight.copy_(w.reshape(1, -1))
            self.fc.bias.fill_(b)

    def forward(self, x):
        return self.fc(x.flatten(1))[:, 0]


class QuadraticD(nn.Module):
    """D(x) = sum_i v_i x_i^2: input gradient 2 v ⊙ x, so slopes depend on where D is probed."""

    def __init__(self, v: torch.Tensor):
        super().__init__()
        self.v = nn.Parameter(v.clone())

    def forward(self, x):
        return (self.v * x.square()).flatten(1).sum(1)


class Exploding(nn.Module):
    def forward(self, x):
        raise AssertionError("D must not be called")


def _images(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(SHAPE, generator=gen), torch.rand(SHAPE, generator=gen)


def test_registry_names_match_contract():
    assert set(ALL) == {"none", "wgan_gp", "dragan", "l2"}


@pytest.mark.parametrize("name", ALL)
def test_every_penalty_is_a_finite_nonnegative_scalar(name):
    real, fake = _images(0)
    w = torch.linspace(-0.2, 0.3, real[0].numel())
    value = PENALTIES.get(name)(PenaltyInputs(LinearD(w), real, fake))
    assert value.dim() == 0 and torch.isfinite(value) and value.item() >= 0


def test_none_is_zero_and_never_calls_d():
    real, fake = _images(0)
    value = PENALTIES.get("none")(PenaltyInputs(Exploding(), real, fake))
    assert value.item() == 0.0 and value.dtype == real.dtype


@pytest.mark.parametrize("name", ["wgan_gp", "dragan"])
def test_gradient_penalties_exact_on_linear_d(name):
    # Hand value: w = (2, 0, ..., 0) -> |w|^2 = 4, slope = sqrt(4.0001) = 2.0000249998...,
    # penalty = (2.0000249998 - 1)^2 = 1.0000499997 for every sample and every alpha/noise draw.
    real, fake = _images(1)
    w = torch.zeros(real[0].numel())
    w[0] = 2.0
    value = PENALTIES.get(name)(PenaltyInputs(LinearD(w), real, fake))
    assert value.item() == pytest.approx(1.0000499997, rel=1e-6)
    # Formula on a generic w: (sqrt(1e-4 + |w|^2) - 1)^2, independent of the RNG.
    w = torch.linspace(-0.1, 0.05, real[0].numel())
    expected = (math.sqrt(1e-4 + float((w.double() ** 2).sum())) - 1) ** 2
    value = PENALTIES.get(name)(PenaltyInputs(LinearD(w), real, fake))
    assert value.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["wgan_gp", "dragan"])
def test_gradient_penalty_trains_d(name):
    """create_graph=True: the penalty has a gradient w.r.t. D's weights, d/dw (s-1)^2 = 2(s-1) w/s."""
    real, fake = _images(2)
    w = torch.linspace(-0.3, 0.2, real[0].numel())
    d = LinearD(w)
    PENALTIES.get(name)(PenaltyInputs(d, real, fake)).backward()
    s = math.sqrt(1e-4 + float((w.double() ** 2).sum()))
    expected = 2 * (s - 1) * w.double() / s
    torch.testing.assert_close(d.fc.weight.grad[0].double(), expected, rtol=1e-5, atol=1e-8)
    assert d.fc.bias.grad is None or d.fc.bias.grad.abs().item() == 0.0


def _slopes_ref(v: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Reference slopes for QuadraticD in float64: sqrt(1e-4 + sum (2 v x)^2) per sample."""
    g = 2 * v[None] * points
    return np.sqrt(1e-4 + (g**2).reshape(len(points), -1).sum(1))


def test_wgan_gp_matches_reference_with_per_sample_alpha():
    real, fake = _images(3)
    v = torch.rand(SHAPE[1:], generator=torch.Generator().manual_seed(9)) * 3
    torch.manual_seed(123)
    value = PENALTIES.get("wgan_gp")(PenaltyInputs(QuadraticD(v), real, fake))
    torch.manual_seed(123)
    alpha = torch.rand(SHAPE[0], 1, 1, 1).double().numpy()  # one alpha per sample, U[0,1)
    r, f = real.double().numpy(), fake.double().numpy()
    x_hat = r + alpha * (f - r)
    expected = np.mean((_slopes_ref(v.double().numpy(), x_hat) - 1) ** 2)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    # With ONE alpha for the whole batch the value would differ (the reference is sensitive to it).
    x_one = r + alpha[0] * (f - r)
    assert abs(np.mean((_slopes_ref(v.double().numpy(), x_one) - 1) ** 2) - expected) > 1e-3


def test_dragan_matches_reference_with_one_scalar_std():
    real, _ = _images(4)
    real = real * 0.6 + 0.2  # inside [0.2, 0.8]: noise of at most 0.5 std does not clip there...
    real[0, 0] = 0.999  # ...but it does at rows near the edges, so clipping is exercised
    real[1, 0] = 0.001
    v = torch.rand(SHAPE[1:], generator=torch.Generator().manual_seed(8)) * 3
    torch.manual_seed(321)
    value = PENALTIES.get("dragan")(PenaltyInputs(QuadraticD(v), real, torch.zeros(SHAPE)))
    torch.manual_seed(321)
    u = torch.rand(SHAPE).double().numpy()
    r = real.double().numpy()
    std = r.std()  # ONE scalar over all elements of the batch, ddof=0 (tf.nn.moments)
    unclipped = r + std * (u - 0.5)
    assert (unclipped > 1).any() and (unclipped < 0).any()
    noisy = np.clip(unclipped, 0, 1)
    expected = np.mean((_slopes_ref(v.double().numpy(), noisy) - 1) ** 2)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalties_depend_on_the_seed():
    real, fake = _images(5)
    v = torch.rand(SHAPE[1:], generator=torch.Generator().manual_seed(1)) * 3
    for name in ("wgan_gp", "dragan"):
        vals = []
        for seed in (0, 0, 1):
            torch.manual_seed(seed)
            vals.append(PENALTIES.get(name)(PenaltyInputs(QuadraticD(v), real, fake)).item())
        assert vals[0] == vals[1] and vals[0] != vals[2]


def test_penalty_rejects_mismatched_pairs():
    real, fake = _images(6)
    with pytest.raises(ValueError, match="shape"):
        PENALTIES.get("wgan_gp")(PenaltyInputs(QuadraticD(torch.ones(SHAPE[1:])), real, fake[:2]))


def test_l2_hand_sum_is_a_mean_over_layers():
    # Two layers: W1 = [[1, 2]] -> sum W^2 / 2 = 2.5;  W2 = [[3]] -> 4.5.  Mean = (2.5 + 4.5)/2 = 3.5.
    # Biases (filled with 100) are not penalized.
    net = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 2.0]]))
        net[1].weight.copy_(torch.tensor([[3.0]]))
        net[0].bias.fill_(100.0)
        net[1].bias.fill_(100.0)
    real, fake = torch.zeros(1, 2), torch.zeros(1, 2)
    assert PENALTIES.get("l2")(PenaltyInputs(net, real, fake)).item() == pytest.approx(3.5, abs=1e-6)


# Study counts (spec §2.3, [V2] consts.N_DISCRIMINATOR_LAYERS): weights only, built on the meta device.
@pytest.mark.parametrize(("arch", "res", "count"),
                         [("sndcgan", 32, 8), ("resnet19", 128, 19), ("resnet_cifar", 32, 13)])
@pytest.mark.parametrize("norm", ["none", "spectral"])
def test_l2_weight_counts_at_width_one(arch, res, count, norm):
    with torch.device("meta"):
        _, d = ARCHS.get(arch).build(res, norm, width=1.0)
    weights = penalized_weights(d)
    assert len(weights) == count
    assert all(w.dim() in (2, 4) for w in weights)  # conv/linear weights only, no biases/norm params
    assert all(w.requires_grad for w in weights)


@pytest.mark.parametrize("arch", ARCHS.names())
def test_l2_on_arch_d_uses_raw_weights(arch):
    res = 32 if arch != "resnet19" else 128
    torch.manual_seed(0)
    _, d = ARCHS.get(arch).build(res, "spectral", width=1 / 32)
    x = torch.rand(2, 3, res, res)
    d(x)  # one SN update; must not change the raw weights the penalty sees
    raws = [m.parametrizations.weight.original for m in d.modules() if hasattr(m, "parametrizations")]
    expected = sum(0.5 * float((w.detach().double() ** 2).sum()) for w in raws) / len(raws)
    value = PENALTIES.get("l2")(PenaltyInputs(d, x, x))
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in raws)


def test_unknown_penalty_names_option_and_allowed_values():
    with pytest.raises(ConfigError, match=r"option 'penalty'.*dragan, l2, none, wgan_gp"):
        PENALTIES.get("gp")


ARCH_CASES = [
    (a, 128 if a == "resnet19" else 32, n) for a in ARCHS.names() for n in ARCHS.get(a).d_norms
]


@pytest.mark.parametrize(("arch", "res", "norm"), ARCH_CASES)
@pytest.mark.parametrize("name", ["wgan_gp", "dragan"])
def test_gradient_penalties_backprop_through_every_arch_d(arch, res, norm, name):
    """Double backward works through every D (BN/LN/SN in train mode) and reaches every D weight."""
    torch.manual_seed(0)
    _, d = ARCHS.get(arch).build(res, norm, width=1 / 32 if res == 128 else 1 / 16)
    real, fake = torch.rand(2, 3, res, res), torch.rand(2, 3, res, res)
    value = PENALTIES.get(name)(PenaltyInputs(d, real, fake))
    assert value.dim() == 0 and torch.isfinite(value) and value.item() >= 0
    value.backward()
    for w in d.penalized_weights():
        assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0
