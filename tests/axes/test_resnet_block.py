"""ResBlock and unpool (spec §4.2): zero insertion by hand, and a functional reference of each block."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganaudit.axes.archs import ResBlock, unpool
from ganaudit.axes.archs.resnet import unpool_conv
from ganaudit.axes.norms import NORMS

pytestmark = pytest.mark.timeout(120)  # builds and backprops real (tiny) networks


def test_unpool_is_zero_insertion_by_hand():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # [1, 1, 2, 2]
    expected = torch.tensor(
        [[[[1.0, 0.0, 2.0, 0.0],
           [0.0, 0.0, 0.0, 0.0],
           [3.0, 0.0, 4.0, 0.0],
           [0.0, 0.0, 0.0, 0.0]]]]
    )
    assert torch.equal(unpool(x), expected)
    # Not nearest-neighbour: the sum is kept (not multiplied by 4) and the gradient routes 1:1.
    x = torch.rand(2, 3, 3, 3, requires_grad=True)
    y = unpool(x)
    assert y.shape == (2, 3, 6, 6) and torch.allclose(y.sum(), x.sum())
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_unpool_conv_equals_conv_of_unpool_with_gradients():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 5, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    fast = unpool_conv(x, w, b)
    literal = F.conv2d(unpool(x), w, b, padding=1)
    assert fast.shape == (2, 6, 6, 8)
    torch.testing.assert_close(fast, literal, rtol=1e-12, atol=1e-12)
    probe = torch.randn_like(fast)
    grads_fast = torch.autograd.grad((fast * probe).sum(), (x, w, b))
    grads_lit = torch.autograd.grad((literal * probe).sum(), (x, w, b))
    for a, c in zip(grads_fast, grads_lit, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("literal", [True, False])
def test_block_unpool_paths_agree(literal):
    torch.manual_seed(1)
    block = ResBlock(3, 4, "up", NORMS.get("batch"), generator=True, literal_unpool=literal)
    torch.manual_seed(1)
    other = ResBlock(3, 4, "up", NORMS.get("batch"), generator=True, literal_unpool=not literal)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(block(x), other(x), rtol=1e-5, atol=1e-6)


def _unpool_ref(x: torch.Tensor) -> torch.Tensor:
    """Zero insertion written the TF way ([V2] unpool: concat with zeros, then reshape)."""
    b, c, h, w = x.shape
    z = torch.zeros_like(x)
    cols = torch.stack([x, z], dim=-1).reshape(b, c, h, 2 * w)  # interleave zeros along W
    return torch.stack([cols, torch.zeros_like(cols)], dim=-2).reshape(b, c, 2 * h, 2 * w)


def _conv(module, x):
    conv = module.conv
    return F.conv2d(x, conv.weight, conv.bias, padding=1)


def _block_ref(block: ResBlock, x: torch.Tensor, generator: bool, scale: str) -> torch.Tensor:
    """Functional pre-activation block from spec §4.2 with the block's own (already SN'd) weights."""
    up = (lambda t: _unpool_ref(t)) if scale == "up" else (lambda t: t)
    down = (lambda t: F.avg_pool2d(t, 2)) if scale == "down" else (lambda t: t)
    shortcut = down(_conv(block.shortcut, up(x)))
    h = F.relu(block.norm1(x))
    h = _conv(block.conv1, up(h)) if generator else _conv(block.conv1, h)
    h = F.relu(block.norm2(h))
    h = _conv(block.conv2, h) if generator else down(_conv(block.conv2, h))
    return h + shortcut


@pytest.mark.parametrize(("generator", "scale"), [(True, "up"), (True, "none"), (False, "down"), (False, "none")])
@pytest.mark.parametrize("norm", NORMS.names())
@pytest.mark.parametrize("literal", [False, True])
def test_block_matches_functional_reference(generator, scale, norm, literal):
    torch.manual_seed(0)
    block = ResBlock(3, 4, scale, NORMS.get(norm), generator=generator, literal_unpool=literal).double()
    block.eval()  # eval: SN vectors fixed, BN running stats
    with torch.no_grad():  # make every bias and norm affine non-trivial so a dropped term shows
        for name, p in block.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.copy_(torch.rand_like(p) * 0.5 + 0.25)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    y = block(x)
    size = {"up": 8, "down": 2, "none": 4}[scale]
    assert y.shape == (2, 4, size, size)
    torch.testing.assert_close(y, _block_ref(block, x, generator, scale), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("generator", [True, False])
def test_shortcut_is_always_a_learned_3x3_conv_with_bias(generator):
    # Even with c_in == c_out and no resampling (spec §4.2: "ALWAYS a learned 3x3 conv (+bias)").
    block = ResBlock(4, 4, "none", NORMS.get("none"), generator=generator)
    conv = block.shortcut.conv
    assert isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (3, 3) and conv.bias is not None
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():  # zero the main path: the output is the shortcut conv, not x
        block.conv2.conv.weight.zero_()
        block.conv2.conv.bias.zero_()
    assert not torch.allclose(block(x), x)
    torch.testing.assert_close(block(x), F.conv2d(x, conv.weight, conv.bias, padding=1))


def test_generator_upsamples_in_conv1_and_discriminator_downsamples_after_conv2():
    g = ResBlock(2, 3, "up", NORMS.get("batch"), generator=True)
    d = ResBlock(2, 3, "down", NORMS.get("none"), generator=False)
    assert (g.conv1.scale, g.conv2.scale, g.shortcut.scale) == ("up", "none", "up")
    assert (d.conv1.scale, d.conv2.scale, d.shortcut.scale) == ("none", "down", "down")


def test_bad_scale_is_refused():
    with pytest.raises(ValueError, match="up/down/none"):
        ResBlock(2, 2, "sideways", NORMS.get("none"), generator=True)
