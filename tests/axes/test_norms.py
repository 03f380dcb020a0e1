"""Normalizations (spec §3): SN against svdvals and one power iteration per train forward; LN by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganaudit.axes.norms import NORMS, BatchNorm1d, BatchNorm2d, SpectralNormSpec, raw_weight
from ganaudit.utils.errors import ConfigError

ALL = NORMS.names()


def _sn_vectors(layer):
    sn = layer.parametrizations.weight[0]
    return sn._u.clone(), sn._v.clone()


def _matrix(layer) -> torch.Tensor:
    w = raw_weight(layer).detach()
    return w.reshape(w.shape[0], -1)  # [C_out, C_in*KH*KW]


def test_registry_names_match_contract():
    assert set(ALL) == {"none", "batch", "layer", "spectral"}


@pytest.mark.parametrize("name", ALL)
def test_every_norm_keeps_shapes(name):
    torch.manual_seed(0)
    spec = NORMS.get(name)
    conv = spec.wrap(nn.Conv2d(3, 4, 3, padding=1))
    fn = spec.feature_norm(4)
    x = torch.rand(2, 3, 5, 5)
    y = fn(conv(x))
    assert y.shape == (2, 4, 5, 5) and torch.isfinite(y).all()
    assert raw_weight(conv).shape == (4, 3, 3, 3)


@pytest.mark.parametrize("name", ALL)
def test_wrap_changes_only_spectral_and_feature_norm_kinds(name):
    spec = NORMS.get(name)
    lin = nn.Linear(3, 2)
    wrapped = spec.wrap(lin)
    fn = spec.feature_norm(6)
    if name == "spectral":
        assert hasattr(wrapped, "parametrizations") and not torch.equal(wrapped.weight, raw_weight(wrapped))
    else:
        assert wrapped is lin and raw_weight(wrapped) is lin.weight
    expected = {"batch": BatchNorm2d, "layer": nn.GroupNorm}.get(name, nn.Identity)
    assert type(fn) is expected


def test_batch_and_layer_hyperparameters():
    bn = NORMS.get("batch").feature_norm(5)
    assert (bn.eps, bn.momentum, bn.num_features, bn.affine) == (1e-5, 0.1, 5, True)
    ln = NORMS.get("layer").feature_norm(5)
    assert (ln.num_groups, ln.num_channels, ln.eps, ln.affine) == (1, 5, 1e-12, True)
    assert torch.equal(ln.weight, torch.ones(5)) and torch.equal(ln.bias, torch.zeros(5))


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d])
def test_batch_norm_running_variance_is_biased_like_tf(cls):
    # One channel, batch [1, 3] -> mean 2, biased var 1 (unbiased 2).
    # TF (decay .9): moving_mean = .9*0 + .1*2 = 0.2, moving_var = .9*1 + .1*1 = 1.0 (PyTorch: 1.1).
    bn = cls(1, eps=1e-5, momentum=0.1)
    x = torch.tensor([[1.0], [3.0]]) if cls is BatchNorm1d else torch.tensor([1.0, 3.0]).view(2, 1, 1, 1)
    y = bn(x)
    torch.testing.assert_close(y.flatten(), torch.tensor([-1.0, 1.0]) / (1 + 1e-5) ** 0.5)
    assert bn.running_mean.item() == pytest.approx(0.2, abs=1e-7)
    assert bn.running_var.item() == pytest.approx(1.0, abs=1e-7)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()  # eval: (x - 0.2) / sqrt(1.0 + 1e-5)
    torch.testing.assert_close(bn(x).flatten(), (torch.tensor([1.0, 3.0]) - 0.2) / (1 + 1e-5) ** 0.5)


def test_batch_norm_train_output_matches_torch_and_running_stats_reference():
    torch.manual_seed(5)
    ours, ref = BatchNorm2d(3, eps=1e-5, momentum=0.1), torch.nn.BatchNorm2d(3, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        for m in (ours, ref):
            m.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
            m.bias.copy_(torch.tensor([0.1, 0.0, -0.3]))
    expected_var = torch.ones(3)
    expected_mean = torch.zeros(3)
    for _ in range(3):
        x = torch.randn(4, 3, 5, 5) * 2 + 1
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
        xd = x.double()
        expected_mean = 0.9 * expected_mean + 0.1 * xd.mean(dim=(0, 2, 3)).float()
        expected_var = 0.9 * expected_var + 0.1 * xd.var(dim=(0, 2, 3), unbiased=False).float()
    torch.testing.assert_close(ours.running_mean, expected_mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours.running_var, expected_var, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(ours.running_var, ref.running_var, rtol=1e-3)  # PyTorch's is unbiased


def test_layer_norm_equals_hand_computation():
    torch.manual_seed(1)
    ln = NORMS.get("layer").feature_norm(3)
    with torch.no_grad():
        ln.weight.copy_(torch.tensor([2.0, -1.0, 0.5]))
        ln.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64) * 3 + 1
    ln = ln.double()
    expected = torch.empty_like(x)
    for b in range(2):  # per sample, jointly over (C, H, W); biased variance; eps 1e-12
        mu = x[b].sum() / x[b].numel()
        var = ((x[b] - mu) ** 2).sum() / x[b].numel()
        for c in range(3):  # per-channel affine
            expected[b, c] = (x[b, c] - mu) / torch.sqrt(var + 1e-12) * ln.weight[c] + ln.bias[c]
    torch.testing.assert_close(ln(x), expected, rtol=1e-12, atol=1e-12)
    # Hand-checkable sample: [1, 3] over one channel -> mean 2, var 1 -> [-1, 1] (gamma 1, beta 0).
    plain = NORMS.get("layer").feature_norm(1)
    out = plain(torch.tensor([[[[1.0, 3.0]]]]))
    torch.testing.assert_close(out, torch.tensor([[[[-1.0, 1.0]]]]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: nn.Linear(6, 4), lambda: nn.Conv2d(3, 5, 3, padding=1)])
def test_spectral_norm_converges_to_unit_sigma(make):
    torch.manual_seed(2)
    layer = NORMS.get("spectral").wrap(make())
    sigma_true = torch.linalg.svdvals(_matrix(layer)).max()
    first = torch.linalg.svdvals(layer.weight.detach().reshape(layer.weight.shape[0], -1)).max()
    assert first >= 1.0 - 1e-6  # one-iteration estimate <= true sigma, so W/estimate has sigma >= 1
    for _ in range(200):  # each train-mode access runs one power iteration
        w_sn = layer.weight
    sig = torch.linalg.svdvals(w_sn.detach().reshape(w_sn.shape[0], -1))
    assert sig.max().item() == pytest.approx(1.0, abs=1e-4)
    torch.testing.assert_close(w_sn.detach() * sigma_true, raw_weight(layer).detach(), rtol=1e-4, atol=1e-6)


def test_one_power_iteration_per_train_forward_and_none_in_eval():
    torch.manual_seed(3)
    layer = NORMS.get("spectral").wrap(nn.Conv2d(2, 3, 3, padding=1))
    w = _matrix(layer)  # [3, 18]
    u0, v0 = _sn_vectors(layer)
    x = torch.rand(1, 2, 4, 4)
    y = layer(x)
    # [V2] iteration: u = l2n(W v), v = l2n(W^T u), sigma = u^T W v (PyTorch's v = [V2]'s u).
    u1 = F.normalize(w @ v0, dim=0)
    v1 = F.normalize(w.T @ u1, dim=0)
    u, v = _sn_vectors(layer)
    torch.testing.assert_close(u, u1)
    torch.testing.assert_close(v, v1)
    sigma1 = u1 @ w @ v1
    ref = F.conv2d(x, raw_weight(layer).detach() / sigma1, layer.bias, padding=1)
    torch.testing.assert_close(y.detach(), ref, rtol=1e-5, atol=1e-6)
    layer(x)  # a second train-mode forward moves the vectors again
    assert not torch.equal(_sn_vectors(layer)[1], v1)
    layer.eval()
    before = _sn_vectors(layer)
    layer(x)
    layer(x)
    after = _sn_vectors(layer)
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_sn_starts_without_warmup_by_default_and_warmup_option():
    """[V2] starts from random vectors: before any forward, u^T W v is far below sigma;
    PyTorch's 15-iteration warm-up (warmup=True) starts at the true sigma."""
    torch.manual_seed(4)
    # A weight with a clear spectral gap (a rank-one spike on small noise): sigma1 >> sigma2.
    w = 0.01 * torch.randn(30, 40) + torch.outer(torch.randn(30), torch.randn(40)) / 10

    def wrapped(spec):
        lin = nn.Linear(40, 30)
        with torch.no_grad():
            lin.weight.copy_(w)
        return spec.wrap(lin)

    sigma = torch.linalg.svdvals(w).max().item()
    est = lambda layer: (_sn_vectors(layer)[0] @ w @ _sn_vectors(layer)[1]).item()  # noqa: E731
    cold = wrapped(NORMS.get("spectral"))
    assert 0 < est(cold) < 0.5 * sigma  # = ||W v0|| for a random unit v0: positive, far below sigma
    v0 = _sn_vectors(cold)[1]
    torch.testing.assert_close(_sn_vectors(cold)[0], F.normalize(w @ v0, dim=0))
    cold.eval()  # eval before any train forward: W / ||W v0||, finite and sign-preserving
    torch.testing.assert_close(cold.weight, w / (w @ v0).norm())
    assert est(wrapped(SpectralNormSpec("spectral", warmup=True))) == pytest.approx(sigma, rel=1e-4)


def test_spectral_norm_refuses_deconv():
    with pytest.raises(TypeError, match="deconv"):
        NORMS.get("spectral").wrap(nn.ConvTranspose2d(2, 2, 4, 2, 1))


def test_sn_is_deterministic_under_seed():
    def build(seed):
        torch.manual_seed(seed)
        return _sn_vectors(NORMS.get("spectral").wrap(nn.Linear(5, 4)))

    a, b, c = build(0), build(0), build(1)
    assert torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])


def test_unknown_norm_names_option_and_allowed_values():
    with pytest.raises(ConfigError, match=r"option 'norm'.*batch, layer, none, spectral"):
        NORMS.get("weight")
