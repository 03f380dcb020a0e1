"""Losses (spec §1): hand-derived values, a numpy reference, and invariants, for every LOSSES entry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganaudit.axes.losses import LOSSES, LossTerms
from ganaudit.utils.errors import ConfigError

ALL = LOSSES.names()
REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([0.0, -1.0])

# Hand-derived on REAL = [0, 2], FAKE = [0, -1]:
#   e^-1 = 0.36787944, e^-2 = 0.13533528, ln 2 = 0.69314718
#   σ(0) = 0.5, σ(2) = 1/(1+e^-2) = 0.88079708, σ(-1) = 1/(1+e) = 0.26894142
# NS  d_real = (ln(1+e^0) + ln(1+e^-2))/2 = (0.69314718 + 0.12692801)/2 = 0.41003760
#     d_fake = (ln(1+e^0) + ln(1+e^-1))/2 = (0.69314718 + 0.31326169)/2 = 0.50320443
#     g      = (ln(1+e^0) + ln(1+e^1))/2  = (0.69314718 + 1.31326169)/2 = 1.00320443
# MM  g = -d_fake = -0.50320443
# LS  d_real = 0.5 * ((0.5-1)^2 + (0.88079708-1)^2)/2 = 0.5 * (0.25 + 0.01420934)/2 = 0.06605233
#     d_fake = 0.5 * (0.5^2 + 0.26894142^2)/2 = 0.5 * (0.25 + 0.07232949)/2 = 0.08058237
#     g      = 0.5 * ((0.5-1)^2 + (0.26894142-1)^2)/2 = 0.5 * (0.25 + 0.53444665)/2 = 0.19611166
# WGAN d_real = -(0+2)/2 = -1;  d_fake = (0-1)/2 = -0.5;  g = -(0-1)/2 = 0.5
# HINGE d_real = (relu(1-0) + relu(1-2))/2 = 0.5;  d_fake = (relu(1+0) + relu(1-1))/2 = 0.5;  g = 0.5
HAND = {
    "ns": (0.41003760, 0.50320443, 1.00320443),
    "mm": (0.41003760, 0.50320443, -0.50320443),
    "ls": (0.06605233, 0.08058237, 0.19611166),
    "wgan": (-1.0, -0.5, 0.5),
    "hinge": (0.5, 0.5, 0.5),
}


def _np_softplus(t):
    return np.log1p(np.exp(t))


def _np_sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def reference(name: str, lr: np.ndarray, lf: np.ndarray) -> tuple[float, float, float]:
    """Independent float64 numpy formulas of spec §1 (d_real, d_fake, g)."""
    if name in ("ns", "mm"):
        g = np.mean(_np_softplus(-lf)) if name == "ns" else -np.mean(_np_softplus(lf))
        return np.mean(_np_softplus(-lr)), np.mean(_np_softplus(lf)), g
    if name == "ls":
        sr, sf = _np_sigmoid(lr), _np_sigmoid(lf)
        return 0.5 * np.mean((sr - 1) ** 2), 0.5 * np.mean(sf**2), 0.5 * np.mean((sf - 1) ** 2)
    if name == "wgan":
        return -np.mean(lr), np.mean(lf), -np.mean(lf)
    if name == "hinge":
        return np.mean(np.maximum(0, 1 - lr)), np.mean(np.maximum(0, 1 + lf)), -np.mean(lf)
    raise AssertionError(f"no reference for loss '{name}': add one when registering a loss")


def test_registry_names_match_contract():
    assert set(ALL) == {"ns", "mm", "ls", "wgan", "hinge"}


@pytest.mark.parametrize("name", ALL)
def test_hand_values(name):
    terms = LOSSES.get(name)(REAL, FAKE)
    got = (terms.d_real.item(), terms.d_fake.item(), terms.g.item())
    assert got == pytest.approx(HAND[name], abs=2e-7)
    assert terms.d.item() == pytest.approx(HAND[name][0] + HAND[name][1], abs=4e-7)


@pytest.mark.parametrize("name", ALL)
def test_matches_numpy_reference(name):
    gen = torch.Generator().manual_seed(7)
    lr = torch.randn(64, generator=gen, dtype=torch.float64) * 3
    lf = torch.randn(64, generator=gen, dtype=torch.float64) * 3
    terms = LOSSES.get(name)(lr, lf)
    ref = reference(name, lr.numpy(), lf.numpy())
    got = (terms.d_real.item(), terms.d_fake.item(), terms.g.item())
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_terms_are_scalars_and_real_none(name):
    fn = LOSSES.get(name)
    full = fn(REAL, FAKE)
    g_only = fn(None, FAKE)
    assert isinstance(g_only, LossTerms) and g_only.d_real is None
    assert all(t.dim() == 0 for t in (full.d_real, full.d_fake, full.g))
    assert torch.equal(g_only.g, full.g) and torch.equal(g_only.d_fake, full.d_fake)
    with pytest.raises(ValueError, match="real_logits=None"):
        _ = g_only.d


@pytest.mark.parametrize("name", ALL)
def test_column_logits_equal_flat_logits(name):
    fn = LOSSES.get(name)
    a, b = fn(REAL, FAKE), fn(REAL[:, None], FAKE[:, None])
    for x, y in ((a.d_real, b.d_real), (a.d_fake, b.d_fake), (a.g, b.g)):
        assert torch.equal(x, y)


@pytest.mark.parametrize("name", ALL)
def test_bad_logit_shapes_rejected(name):
    with pytest.raises(ValueError, match="shape"):
        LOSSES.get(name)(None, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="shape"):
        LOSSES.get(name)(torch.zeros(2, 2, 1), FAKE)


@pytest.mark.parametrize("name", ALL)
def test_monotone_in_logits(name):
    """Invariant of every GAN loss: D's loss never rises as real logits rise or fake logits fall;
    G's loss never rises as fake logits rise. Checked through autograd on a spread of logits."""
    lr = torch.linspace(-6, 6, 25, dtype=torch.float64, requires_grad=True)
    lf = torch.linspace(-6, 6, 25, dtype=torch.float64, requires_grad=True)
    terms = LOSSES.get(name)(lr, lf)
    (g_real,) = torch.autograd.grad(terms.d_real, lr)
    (g_fake,) = torch.autograd.grad(terms.d_fake, lf, retain_graph=True)
    (g_gen,) = torch.autograd.grad(terms.g, lf)
    assert (g_real <= 0).all() and (g_fake >= 0).all() and (g_gen <= 0).all()
    assert g_real.abs().sum() > 0 and g_fake.abs().sum() > 0 and g_gen.abs().sum() > 0


def test_ns_at_zero_logits_is_two_log_two():
    t = LOSSES.get("ns")(torch.zeros(5), torch.zeros(5))
    assert t.d.item() == pytest.approx(2 * math.log(2), rel=1e-7)
    assert t.g.item() == pytest.approx(math.log(2), rel=1e-7)


def test_ns_and_mm_stable_at_extreme_logits():
    # softplus(100) = 100 + log1p(e^-100) ≈ 100; a naive log(sigmoid) would give inf.
    big = torch.tensor([100.0, -100.0])
    ns = LOSSES.get("ns")(big, -big)
    assert ns.d_fake.item() == pytest.approx(50.0, rel=1e-6)  # (softplus(-100)+softplus(100))/2
    assert ns.g.item() == pytest.approx(50.0, rel=1e-6)
    mm = LOSSES.get("mm")(big, -big)
    assert mm.g.item() == pytest.approx(-50.0, rel=1e-6)
    assert ns.d.item() == pytest.approx(100.0, rel=1e-6) and mm.d.item() == pytest.approx(100.0, rel=1e-6)


def test_ns_equals_bce_with_logits():
    gen = torch.Generator().manual_seed(3)
    lr, lf = torch.randn(16, generator=gen), torch.randn(16, generator=gen)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    t = LOSSES.get("ns")(lr, lf)
    assert t.d.item() == pytest.approx((bce(lr, torch.ones(16)) + bce(lf, torch.zeros(16))).item(), rel=1e-6)
    assert t.g.item() == pytest.approx(bce(lf, torch.ones(16)).item(), rel=1e-6)


def test_mm_g_is_minus_d_fake_and_ls_terms_bounded():
    gen = torch.Generator().manual_seed(5)
    lr, lf = torch.randn(32, generator=gen) * 4, torch.randn(32, generator=gen) * 4
    mm = LOSSES.get("mm")(lr, lf)
    assert torch.equal(mm.g, -mm.d_fake)
    ls = LOSSES.get("ls")(lr, lf)
    for t in (ls.d_real, ls.d_fake, ls.g):  # 0.5 * mean of squares of numbers in (0, 1)
        assert 0.0 < t.item() < 0.5


def test_hinge_zero_beyond_margin_and_wgan_sums():
    t = LOSSES.get("hinge")(torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -2.5]))
    assert t.d.item() == 0.0
    w = LOSSES.get("wgan")(REAL, FAKE)
    assert (w.d_fake + w.g).item() == 0.0


def test_unknown_loss_names_option_and_allowed_values():
    with pytest.raises(ConfigError, match=r"option 'loss'.*hinge, ls, mm, ns, wgan"):
        LOSSES.get("lsgan")
