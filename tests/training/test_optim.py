"""Adam as the study ran it (TF1 AdamOptimizer): hand-derived steps, a numpy reference, invariants."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from ganaudit.axes.optim import ADAM_IMPLS, TF1Adam, make_adam
from ganaudit.training.config import compose, config_hash, validate
from ganaudit.utils.errors import ConfigError


def numpy_tf1_adam(theta: np.ndarray, grads: list[np.ndarray], lr: float, b1: float, b2: float,
                   eps: float) -> np.ndarray:
    """TF1 AdamOptimizer written from its definition, all in float32 as TF's kernel computes it:
    lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t);  theta -= lr_t * m_t / (sqrt(v_t) + eps)."""
    f = np.float32
    theta, m, v = theta.astype(f), np.zeros_like(theta, f), np.zeros_like(theta, f)
    b1p, b2p = f(b1), f(b2)
    for g in grads:
        g = g.astype(f)
        m = m + (g - m) * (f(1) - f(b1))
        v = v + (g * g - v) * (f(1) - f(b2))
        lr_t = f(lr) * np.sqrt(f(1) - b2p) / (f(1) - b1p)
        theta = theta - (m * lr_t) / (np.sqrt(v) + f(eps))
        b1p, b2p = b1p * f(b1), b2p * f(b2)
    return theta


def run_torch(opt_cls, theta0: np.ndarray, grads: list[np.ndarray], **kw) -> torch.Tensor:
    p = torch.nn.Parameter(torch.from_numpy(theta0.astype(np.float32)))
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = torch.from_numpy(g.astype(np.float32))
        opt.step()
    return p.detach()


def test_hand_derived_first_step():
    """t = 1: m = (1-b1) g, v = (1-b2) g^2, so theta_1 = -lr * sqrt(1-b2) g / (sqrt(1-b2)|g| + eps).
    lr 1e-3, b2 0.999, g 1e-6: sqrt(0.001) = 0.0316228, step = 1e-3 * 0.0316228 / 0.0416228
    = 7.5975e-4 (TF1). PyTorch: lr * g / (|g| + eps) = 1e-3 / 1.01 = 9.9010e-4 (30% larger)."""
    kw = dict(lr=1e-3, betas=(0.5, 0.999), eps=1e-8)
    g = np.array([1e-6, -1e-6, 1.0, 1e-8])
    tf1 = run_torch(TF1Adam, np.zeros(4), [g], **kw)
    assert tf1[0].item() == pytest.approx(-7.5975e-4, rel=1e-4)
    assert tf1[1].item() == pytest.approx(7.5975e-4, rel=1e-4)
    assert tf1[2].item() == pytest.approx(-1e-3, rel=1e-6)  # |g| >> eps: lr * sign(g)
    assert tf1[3].item() == pytest.approx(-1e-3 * 0.0316228 / 1.0316228, rel=1e-4)  # |g| = eps: 3.07e-5
    torch_adam = run_torch(torch.optim.Adam, np.zeros(4), [g], **kw)
    assert torch_adam[0].item() == pytest.approx(-9.9010e-4, rel=1e-4)
    assert torch_adam[3].item() == pytest.approx(-0.5e-3, rel=1e-4)


@pytest.mark.parametrize("betas", [(0.5, 0.999), (0.5, 0.9), (0.9, 0.999), (0.0, 0.99)])
def test_matches_numpy_reference_over_many_steps(betas):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(7, 5))
    scales = 10.0 ** rng.uniform(-9, 0, size=(7, 5))  # gradients from far below eps to O(1)
    grads = [rng.normal(size=(7, 5)) * scales for _ in range(30)]
    want = numpy_tf1_adam(theta0, grads, 2e-4, *betas, 1e-8)
    got = run_torch(TF1Adam, theta0, grads, lr=2e-4, betas=betas, eps=1e-8).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    moved = np.abs(want - theta0.astype(np.float32))
    assert moved.min() > 0 and moved.max() < 30 * 2e-4 * 1.01  # each step moves by at most ~lr


def test_equals_torch_adam_with_eps_rescaled_in_the_first_step():
    """Invariant: TF's eps is torch's eps * sqrt(1 - b2^t), so torch.optim.Adam with eps / sqrt(1-b2)
    reproduces TF1Adam's first step; with the same eps the two differ when |g| ~ eps."""
    b2, eps = 0.999, 1e-8
    g = [np.array([3e-9, -2e-8, 5e-7, 0.3])]
    tf1 = run_torch(TF1Adam, np.zeros(4), g, lr=1e-3, betas=(0.5, b2), eps=eps)
    rescaled = run_torch(torch.optim.Adam, np.zeros(4), g, lr=1e-3, betas=(0.5, b2), eps=eps / np.sqrt(1 - b2))
    same_eps = run_torch(torch.optim.Adam, np.zeros(4), g, lr=1e-3, betas=(0.5, b2), eps=eps)
    torch.testing.assert_close(tf1, rescaled, rtol=1e-5, atol=0)
    assert ((same_eps[:2] - tf1[:2]).abs() / tf1[:2].abs()).min() > 0.25


def test_state_dict_resume_is_bit_identical():
    rng = np.random.default_rng(1)
    grads = [torch.from_numpy(rng.normal(size=(3, 4)).astype(np.float32)) for _ in range(6)]

    def make():
        torch.manual_seed(0)
        p = torch.nn.Parameter(torch.randn(3, 4))
        return p, TF1Adam([p], lr=1e-3, betas=(0.5, 0.9))

    p, opt = make()
    for g in grads:
        p.grad = g.clone()
        opt.step()
    q, opt_q = make()
    for g in grads[:3]:
        q.grad = g.clone()
        opt_q.step()
    buf = io.BytesIO()
    torch.save({"p": q.detach().clone(), "opt": opt_q.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    r, opt_r = make()
    with torch.no_grad():
        r.copy_(saved["p"])
    opt_r.load_state_dict(saved["opt"])
    assert opt_r.state[r]["step"] == 3
    for g in grads[3:]:
        r.grad = g.clone()
        opt_r.step()
    assert torch.equal(r.detach(), p.detach())


def test_skips_parameters_without_gradients():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = TF1Adam([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(2)) and not opt.state[b]
    assert torch.all(a.detach() < 1)


def test_config_default_is_tf1_and_is_hashed():
    cfg = compose([])
    assert cfg.optim.impl == "tf1" and ADAM_IMPLS.names() == ["tf1", "torch"]
    assert config_hash(compose(["optim.impl=torch"])) != config_hash(cfg)
    with pytest.raises(ConfigError, match="optim.impl.*tf1, torch"):
        validate(compose(["optim.impl=sgd"]))
    with pytest.raises(ConfigError, match="unknown optim.impl 'sgd'"):
        make_adam("sgd", [torch.nn.Parameter(torch.ones(1))], lr=1e-3, betas=(0.5, 0.9), eps=1e-8)


def test_gan_module_uses_the_configured_adam():
    from hydra.utils import instantiate

    from ganaudit.training.lit.gan_module import GANModule

    node = compose(["arch.width=0.0625"]).lightning.module
    assert all(isinstance(o, TF1Adam) for o in instantiate(node).configure_optimizers())
    opts = instantiate(node, adam_impl="torch").configure_optimizers()
    assert isinstance(instantiate(node), GANModule)
    assert all(type(o) is torch.optim.Adam for o in opts)
    assert opts[0].defaults["eps"] == 1e-8 and opts[0].defaults["betas"] == (0.5, 0.999)
