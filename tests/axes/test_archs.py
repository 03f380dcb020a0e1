"""Architectures (spec §4): shapes, ranges, layer facts, parameter counts, init, determinism, bad configs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganaudit.axes.archs import ARCHS, INITS, sample_z
from ganaudit.axes.norms import BatchNorm1d, BatchNorm2d
from ganaudit.utils.errors import ConfigError

pytestmark = pytest.mark.timeout(120)  # builds and backprops real (tiny) networks
RESOLUTIONS = {"sndcgan": (32, 128), "resnet19": (128,), "resnet_cifar": (32,)}
# Tiny widths keep every build + forward well under a second on 2 cores.
WIDTH = {32: 1 / 16, 128: 1 / 32}
CASES = [(a, r, n) for a in ARCHS.names() for r in RESOLUTIONS[a] for n in ARCHS.get(a).d_norms]


def _build(arch, res, norm, seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("width", WIDTH[res])
    return ARCHS.get(arch).build(res, norm, **kw)


def test_registry_names_match_contract_and_resolution_table():
    assert set(ARCHS.names()) == {"sndcgan", "resnet19", "resnet_cifar"}
    assert set(RESOLUTIONS) == set(ARCHS.names())  # a new arch must be added to this table
    assert set(INITS.names()) == {"v2", "v3"}


@pytest.mark.parametrize(("arch", "res", "norm"), CASES)
def test_shapes_and_ranges(arch, res, norm):
    g, d = _build(arch, res, norm)
    z = sample_z(3, 128, torch.Generator().manual_seed(0)) * 3  # beyond U(-1,1): range must still hold
    x = g(z)
    assert x.shape == (3, 3, res, res) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.std() > 0
    logits = d(x)
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    (logits.sum()).backward()
    assert all(p.grad is not None for p in d.parameters() if p.requires_grad)


@pytest.mark.parametrize(("arch", "res", "norm"), CASES)
def test_normalization_placement(arch, res, norm):
    g, d = _build(arch, res, norm)
    n_sn = sum(1 for m in d.modules() if hasattr(m, "parametrizations"))
    n_weights = len(d.penalized_weights())
    assert n_sn == (n_weights if norm == "spectral" else 0)  # SN on every conv incl. shortcuts + linear
    assert not any(hasattr(m, "parametrizations") for m in g.modules())  # never SN in G
    n_blocks = len(getattr(d, "blocks", []))
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    n_ln = sum(isinstance(m, nn.GroupNorm) for m in d.modules())
    assert n_bn == (2 * n_blocks if norm == "batch" else 0)
    assert n_ln == (2 * n_blocks if norm == "layer" else 0)
    assert all(m.num_groups == 1 and m.eps == 1e-12 for m in d.modules() if isinstance(m, nn.GroupNorm))
    g_bn = [m for m in g.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    assert g_bn and all(m.momentum == 0.1 for m in g_bn)  # G always has BN
    assert all(isinstance(m, (BatchNorm1d, BatchNorm2d)) for m in g_bn)  # TF's biased running var
    assert {m.eps for m in g_bn} == ({2e-5} if arch == "sndcgan" else {1e-5})


def test_sndcgan_layer_table():
    g, d = _build("sndcgan", 32, "none", width=1 / 8)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (8, 3, 1), (16, 4, 2), (16, 3, 1), (32, 4, 2), (32, 3, 1), (64, 4, 2), (64, 3, 1)
    ]
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}
    assert d.linear.in_features == 64 * 4 * 4
    assert isinstance(g.bn0, nn.BatchNorm1d) and g.bn0.num_features == 64 * 4 * 4  # flat, per unit


def test_sndcgan_d_rescales_input_to_minus_one_one():
    _, d = _build("sndcgan", 32, "spectral")
    seen = []
    first = next(m for m in d.modules() if isinstance(m, nn.Conv2d))
    first.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    x = torch.rand(2, 3, 32, 32)
    x[0, 0, 0, :3] = torch.tensor([0.0, 1.0, 0.25])
    d(x)
    torch.testing.assert_close(seen[0], 2 * x - 1)
    assert seen[0][0, 0, 0, :3].tolist() == [-1.0, 1.0, -0.5]


def test_resnet_d_sees_raw_images_and_mean_pools():
    _, d = _build("resnet_cifar", 32, "none")
    seen = []
    d.blocks[0].register_forward_hook(lambda mod, inp, out: seen.append((inp[0], out)))
    x = torch.rand(2, 3, 32, 32)
    logits = d(x)
    assert torch.equal(seen[0][0], x)
    feats = d.blocks[1:](seen[0][1]).relu().mean(dim=(2, 3))  # head: ReLU -> mean over H,W -> linear
    torch.testing.assert_close(logits, d.linear(feats)[:, 0])


@pytest.mark.parametrize(("arch", "res"), [("sndcgan", 32), ("resnet_cifar", 32), ("resnet19", 128)])
def test_generator_output_layers(arch, res):
    g, _ = _build(arch, res, "spectral")
    last = g.blocks[-1] if arch == "sndcgan" else g.conv
    seen = []
    last.register_forward_hook(lambda mod, inp, out: seen.append(out))
    x = g(sample_z(2, 128))
    squash = (seen[0].tanh() + 1) / 2 if arch == "sndcgan" else seen[0].sigmoid()
    torch.testing.assert_close(x, squash)


# Parameter counts at width 1, hand-derived from spec §4.1 for SNDCGAN-32 (weights + biases):
#   D: conv3x3 3->64      3*3*3*64   + 64   =     1,792
#      conv4x4 64->128    4*4*64*128 + 128  =   131,200
#      conv3x3 128->128   3*3*128*128+ 128  =   147,584
#      conv4x4 128->256   4*4*128*256+ 256  =   524,544
#      conv3x3 256->256   3*3*256*256+ 256  =   590,080
#      conv4x4 256->512   4*4*256*512+ 512  = 2,097,664
#      conv3x3 512->512   3*3*512*512+ 512  = 2,359,808
#      linear 4*4*512->1  8192 + 1          =     8,193      total 5,860,865
#   G: linear 128->8192   128*8192 + 8192   = 1,056,768;  BN1d(8192) gamma+beta = 16,384
#      deconv 512->256 4x4: 2,097,152 + 256;  BN 512;  deconv 256->128: 524,288 + 128;  BN 256
#      deconv 128->64: 131,072 + 64;  BN 128;  deconv3x3 64->3: 1,728 + 3     total 3,828,739
# ResNet blocks (norm none in D, BN in G), weights + biases; conv3x3(ci,co) = 9*ci*co + co:
#   D block(ci,co) = shortcut conv3x3(ci,co) + conv1 conv3x3(ci,co) + conv2 conv3x3(co,co)
#   G block(ci,co) = D block + BN(ci) 2*ci + BN(co) 2*co
# ResNet-CIFAR D: B0 3->128: 3,584 + 3,584 + 147,584 = 154,752;  B1-B3 128->128: 3 * 442,752
#   = 1,328,256;  linear 128 + 1 = 129                                     total 1,483,137
# ResNet-CIFAR G: linear 128->4096: 528,384;  3 blocks 256->256: 3 * (512 + 3*590,080 + 512)
#   = 5,313,792;  BN(256) 512;  conv3x3 256->3: 6,915                     total 5,849,603
# ResNet19 D: B0 3->64 40,512;  B1 64->128 295,296;  B2 128->256 1,180,416;  B3 256->256 1,770,240;
#   B4 256->512 4,720,128;  B5 512->512 7,079,424;  linear 513             total 15,086,529
# ResNet19 G: linear 128->8192 1,056,768;  B1 512->512 7,081,472;  B2 512->256 2,951,424;
#   B3 256->256 1,771,264;  B4 256->128 738,432;  B5 128->64 184,896;  BN(64) 128;
#   conv3x3 64->3 1,731                                                   total 13,786,115
PARAMS = {
    ("sndcgan", 32): (3_828_739, 5_860_865),
    ("resnet_cifar", 32): (5_849_603, 1_483_137),
    ("resnet19", 128): (13_786_115, 15_086_529),
}


@pytest.mark.parametrize(("arch", "res"), sorted(PARAMS))
@pytest.mark.parametrize("norm", ["none", "spectral"])
def test_parameter_counts_at_width_one(arch, res, norm):
    with torch.device("meta"):  # shapes only: no memory, no init cost
        g, d = ARCHS.get(arch).build(res, norm)
    g_count, d_count = PARAMS[(arch, res)]
    assert sum(p.numel() for p in d.parameters()) == d_count
    assert sum(p.numel() for p in g.parameters()) == g_count


def test_width_scales_channels_with_a_floor_of_one():
    g, d = ARCHS.get("sndcgan").build(32, "none", width=1e-6)
    assert {m.out_channels for m in d.modules() if isinstance(m, nn.Conv2d)} == {1}
    assert g(sample_z(2, 128)).shape == (2, 3, 32, 32)
    _, d2 = ARCHS.get("sndcgan").build(32, "none", width=0.5)
    assert [m.out_channels for m in d2.modules() if isinstance(m, nn.Conv2d)][-1] == 256


@pytest.mark.parametrize("arch", ARCHS.names())
def test_seed_determinism(arch):
    res = RESOLUTIONS[arch][0]
    outs = []
    for seed in (5, 5, 6):
        g, d = _build(arch, res, "spectral", seed=seed)
        x = g(sample_z(2, 128, torch.Generator().manual_seed(0)))
        outs.append((x, d(x)))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert not torch.equal(outs[0][0], outs[2][0]) and not torch.equal(outs[0][1], outs[2][1])


def _weights(module, kind):
    return torch.cat([m.weight.detach().flatten() for m in module.modules() if isinstance(m, kind)])


@pytest.mark.parametrize("init", INITS.names())
def test_initializers(init):
    g, d = _build("resnet_cifar", 32, "none", width=0.25, init=init)
    convs = torch.cat([_weights(g, nn.Conv2d), _weights(d, nn.Conv2d)])  # ~170k values
    linears = torch.cat([_weights(g, nn.Linear), _weights(d, nn.Linear)])
    # Normal(0, .02): std .02, 4.55% beyond 2 std. Trunc-normal cut at ±.04: std .02 * 0.8796, none beyond.
    if init == "v2":
        assert convs.abs().max() <= 0.04 and convs.std().item() == pytest.approx(0.02 * 0.8796, rel=0.02)
    else:
        assert (convs.abs() > 0.04).float().mean().item() == pytest.approx(0.0455, rel=0.1)
        assert convs.std().item() == pytest.approx(0.02, rel=0.02)
    assert linears.std().item() == pytest.approx(0.02, rel=0.05) and linears.abs().max() > 0.04
    biases = [m.bias for m in list(g.modules()) + list(d.modules()) if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert all(torch.equal(b, torch.zeros_like(b)) for b in biases)
    sg, sd = _build("sndcgan", 32, "none", width=0.5, init=init)  # SNDCGAN: normal everywhere
    for w in (_weights(sd, nn.Conv2d), _weights(sg, nn.ConvTranspose2d)):
        assert w.std().item() == pytest.approx(0.02, rel=0.03) and w.abs().max() > 0.04


def test_sample_z_is_uniform_minus_one_one():
    z = sample_z(4000, 64, torch.Generator().manual_seed(1))
    assert z.shape == (4000, 64) and z.dtype == torch.float32
    assert z.min() >= -1 and z.max() < 1
    assert z.mean().item() == pytest.approx(0.0, abs=0.01)
    assert z.var().item() == pytest.approx(1 / 3, rel=0.02)  # Var U(-1,1) = (b-a)^2/12 = 1/3
    same = sample_z(5, 7, torch.Generator().manual_seed(2)), sample_z(5, 7, torch.Generator().manual_seed(2))
    assert torch.equal(*same) and not torch.equal(same[0], sample_z(5, 7, torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError):
        sample_z(2, 0)


BAD = [
    ("sndcgan", 32, "batch", {},
     r"option 'norm'.*SNDCGAN's D supports only none/spectral.*allowed values: none, spectral"),
    ("sndcgan", 32, "layer", {}, r"option 'norm'.*allowed values: none, spectral"),
    ("sndcgan", 36, "spectral", {}, r"option 'dataset.resolution'.*36.*multiples of 8"),
    ("resnet19", 32, "spectral", {}, r"option 'dataset.resolution'.*resnet19.*32.*128 only"),
    ("resnet_cifar", 128, "spectral", {}, r"option 'dataset.resolution'.*resnet_cifar.*128.*32 only"),
    ("resnet19", 128, "weight", {}, r"option 'norm'.*batch, layer, none, spectral"),
    ("resnet19", 128, "batch", {"width": 0}, r"option 'arch.width'.*> 0"),
    ("sndcgan", 32, "none", {"width": "wide"}, r"option 'arch.width'"),
    ("sndcgan", 32, "none", {"z_dim": 0}, r"option 'arch.z_dim'.*>= 1"),
    ("sndcgan", 32, "none", {"init": "orthogonal"}, r"option 'arch.init'.*v2, v3"),
]


@pytest.mark.parametrize(("arch", "res", "norm", "kw", "msg"), BAD)
def test_invalid_configs_are_refused_with_option_and_allowed_values(arch, res, norm, kw, msg):
    with pytest.raises(ConfigError, match=msg):
        ARCHS.get(arch).build(res, norm, **kw)


def test_check_accepts_the_study_pairs_and_unknown_arch_is_refused():
    for arch, res, norm in CASES:
        ARCHS.get(arch).check(res, norm)
    with pytest.raises(ConfigError, match=r"option 'arch'.*resnet19, resnet_cifar, sndcgan"):
        ARCHS.get("dcgan")


@pytest.mark.parametrize("arch", ARCHS.names())
def test_spectral_d_updates_every_sn_vector_per_train_forward_only(arch):
    res = RESOLUTIONS[arch][0]
    _, d = _build(arch, res, "spectral")
    vectors = lambda: [m.parametrizations.weight[0]._v.clone() for m in d.modules() if hasattr(m, "parametrizations")]  # noqa: E731
    x = torch.rand(2, 3, res, res)
    before = vectors()
    d(x)
    after = vectors()
    assert len(after) == len(d.penalized_weights())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    d.eval()
    d(x)
    assert all(torch.equal(a, b) for a, b in zip(after, vectors(), strict=True))


@pytest.mark.parametrize("arch", ARCHS.names())
def test_eval_mode_generator_is_per_sample(arch):
    """FID samples come from eval-mode G: BN uses running stats, so a sample does not depend on the
    rest of its batch; in train mode it does (batch statistics)."""
    res = RESOLUTIONS[arch][0]
    g, _ = _build(arch, res, "none")
    z = sample_z(3, 128, torch.Generator().manual_seed(4))
    g(z)  # one train-mode pass moves the running stats away from their init
    assert not torch.allclose(g(z)[:1], g(z[:1].repeat(2, 1))[:1])
    g.eval()
    torch.testing.assert_close(g(z)[:1], g(z[:1]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("arch", "norm"),
                         [("sndcgan", "spectral"), ("resnet_cifar", "batch"), ("resnet_cifar", "spectral")])
def test_state_dict_round_trip_resumes_bit_identically(arch, norm):
    """A checkpoint holds everything that drives the next step: raw weights, SN vectors, BN stats."""
    g, d = _build(arch, 32, norm, seed=0)
    z = sample_z(2, 128, torch.Generator().manual_seed(0))
    d(g(z))  # move SN vectors and running statistics away from their initial values
    g2, d2 = _build(arch, 32, norm, seed=1)
    assert not torch.equal(g(z), g2(z))  # another seed: equal outputs below come from the loaded state
    g2.load_state_dict(g.state_dict())
    d2.load_state_dict(d.state_dict())
    for first, second in ((g, g2), (d, d2)):
        sd, sd2 = first.state_dict(), second.state_dict()
        assert list(sd) == list(sd2)
        for k in sd:
            assert torch.equal(sd[k], sd2[k]), k
    x, x2 = g(z), g2(z)
    assert torch.equal(x, x2) and torch.equal(d(x), d2(x2))
    if norm == "spectral":
        assert any(k.endswith("_v") for k in d.state_dict())
