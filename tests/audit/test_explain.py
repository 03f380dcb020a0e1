"""``audit explain`` on a tiny synthetic world (8x8 images, a BatchNorm generator): planted causes are
ranked first, a far claim is unexplained, the protocol's own FID is "no change", features are reused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganaudit.audit.explain import (
    candidates,
    combine,
    explain,
    fake_features,
    gen_key,
    post_key,
    rank,
    real_features,
    real_key,
)
from ganaudit.metrics.fid import feature_stats
from ganaudit.metrics.streaming import FIDMetric
from ganaudit.metrics.variants import RESIZE_FILTERS, latent_batches, resize_images

from . import tiny_setup as tiny

AXES = ("split", "n_real", "n_fake", "jpeg", "g_mode", "latent", "select")


@pytest.fixture(scope="module")
def world():
    """One scoring of every variant (<= 2 changes) of one input; claims are ranked against it."""
    setup = tiny.setup(streams=3)
    setup.sizes, setup.axes = (25,), AXES
    result = explain(setup, tiny.sources(1, final=True), 0.0, tiny.SPLIT_SIZES)
    rows = {r["label"]: r for r in result["variants"]}
    return setup, result, rows


def _first(rows: dict, claim: float, planted: str) -> None:
    """The planted variant is first, or tied first: it explains the claim with the fewest changes and the
    first-ranked variant's FID lies inside its CI (the two are indistinguishable at this sampling)."""
    ranked = rank([dict(r) for r in rows.values()], claim)
    top, mine = ranked[0], next(r for r in ranked if r["label"] == planted)
    assert mine["explains"], (planted, claim, mine["ci"])
    assert mine["n_changes"] == top["n_changes"] and mine["ci"][0] <= top["fid"] <= mine["ci"][1], \
        (planted, [(r["label"], round(r["fid"], 3)) for r in ranked[:3]])


@pytest.mark.parametrize("planted", ["split=train", "n_real=25", "jpeg=75", "g_mode=train", "latent=normal",
                                     "select=final", "split=train, g_mode=train", "n_real=25, select=final"])
def test_planted_cause_ranks_first(world, planted):
    _, _, rows = world
    claim = rows[planted]["values"][0][0]  # what one would report: the variant's FID on the protocol's stream
    _first(rows, claim, planted)


def test_protocol_fid_is_explained_by_no_change(world):
    _, result, rows = world
    claim = result["plain"]["values"][0][0]
    ranked = rank([dict(r) for r in rows.values()], claim)
    assert ranked[0]["label"] == "no change" and ranked[0]["explains"]


def test_three_times_the_fid_is_unexplained(world):
    _, result, rows = world
    claim = 3 * result["plain"]["values"][0][0]
    assert not any(r["explains"] for r in rank([dict(r) for r in rows.values()], claim))


def test_plain_stream_zero_is_the_protocols_number(world):
    """Stream 0 of the plain protocol = the evaluate path's streaming FID on the same latents."""
    setup, result, _ = world
    gen = tiny.sources(1)[0].generators["best"].eval()
    ref = setup.open_split("test").images
    metric = FIDMetric(8)
    with torch.no_grad():
        real = setup.extractor(torch.from_numpy(ref).permute(0, 3, 1, 2).float())[0]
        metric.update(real, real=True)
        seen = 0
        for z in latent_batches(tiny.TINY, 0, tiny.N, 4):
            imgs = (gen(z) * 255.0)[: tiny.N - seen]
            seen += len(imgs)
            metric.update(setup.extractor(imgs)[0], real=False)
    assert result["plain"]["values"][0][0] == pytest.approx(float(metric.compute()), rel=1e-6)


def test_reference_only_variants_reuse_the_fakes():
    """Reference-side variants add reference images only: no fake is generated or extracted again."""
    counts = {}
    for axes in ((), ("split", "n_real")):
        setup = tiny.setup(streams=3, extractor=tiny.Extractor())
        setup.sizes, setup.axes = (), axes
        res = explain(setup, tiny.sources(1), 10.0, tiny.SPLIT_SIZES)
        counts[axes] = (setup.extractor.images, len(res["variants"]))
    plain_images = 3 * tiny.N + tiny.N  # 3 streams of fakes + the test reference
    assert counts[()] == (plain_images, 1)
    assert counts[("split", "n_real")][0] == plain_images + tiny.N  # + the first N train images, nothing else


def test_not_applicable_variants_say_why():
    setup = tiny.setup()
    ok, na = candidates(setup, tiny.sources(1), tiny.SPLIT_SIZES)
    reasons = {tuple(n["changes"].items())[0]: n["reason"] for n in na}
    assert "does not resize" in reasons[("resize", "pil_bicubic")]
    assert "no other checkpoint" in reasons[("select", "final")]
    assert "unquantized" in reasons[("quantize", "float")]
    assert {"g_mode": "train"} in ok and {"latent": "normal"} in ok
    pairs = [v for v in combine(ok, 2) if len(v) == 2]
    assert all(not ({"n", "n_fake"} <= set(v)) for v in pairs) and {"split": "train", "g_mode": "train"} in pairs


def test_fid_inf_variant_removes_the_bias_of_few_fakes():
    """n=inf: the 1/N fit lies below the plain FID_N (its upward bias removed)."""
    setup2 = tiny.setup(streams=3)
    setup2.sizes, setup2.axes = (), ("n",)
    res = explain(setup2, tiny.sources(1), 10.0, tiny.SPLIT_SIZES)
    rows = {r["label"]: r for r in res["variants"]}
    assert rows["n=inf"]["fid"] < rows["no change"]["fid"]


def test_every_single_variant_changes_its_fids(world):
    """No variant silently does nothing: every applicable single change moves every stream's FID."""
    _, result, rows = world
    plain = result["plain"]["values"]
    singles = [r for r in rows.values() if r["n_changes"] == 1]
    assert {next(iter(r["changes"])) for r in singles} == set(AXES)  # every axis asked for
    for r in singles:
        moved = [a != b for va, vb in zip(r["values"], plain, strict=True) for a, b in zip(va, vb, strict=True)]
        assert all(moved), (r["label"], r["values"], plain)


@pytest.mark.parametrize("changes", [{"jpeg": 75}, {"quantize": "truncate"}, {"quantize": "round"},
                                     {"g_mode": "train"}, {"latent": "normal"}, {"select": "final"}])
def test_fake_side_variants_change_the_fakes(changes):
    """The variant's fakes (features of stream 0) differ from the protocol's, and only the fakes: the
    reference key is the protocol's."""
    setup, src = tiny.setup(), tiny.sources(1, final=True)[0]
    plain = fake_features(setup, src, gen_key({}), {post_key({}): tiny.N}, tiny.N, 0)[post_key({})]
    mine = fake_features(setup, src, gen_key(changes), {post_key(changes): tiny.N}, tiny.N, 0)[post_key(changes)]
    assert mine.shape == plain.shape and not np.allclose(mine, plain)
    assert real_key(changes, setup.proto) == real_key({}, setup.proto)


def test_train_mode_uses_batch_statistics():
    """g_mode=train: the fakes are what the generator gives in train mode, batch by batch (hand check),
    and the generator the protocol uses stays in eval mode with its running statistics untouched."""
    setup, src = tiny.setup(), tiny.sources(1)[0]
    gen = src.generators["best"].eval()  # as load_generator returns it
    running = gen.bn.running_mean.clone()
    got = fake_features(setup, src, gen_key({"g_mode": "train"}), {post_key({}): tiny.N}, tiny.N, 0)[post_key({})]
    manual = []
    with torch.no_grad():
        for z in latent_batches(tiny.TINY, 0, tiny.N, 4):
            x = nn.functional.batch_norm(gen.fc(z), None, None, gen.bn.weight, gen.bn.bias, True, 0.0, gen.bn.eps)
            manual.append(torch.sigmoid(x).view(-1, 3, 8, 8) * 255.0)
    want = setup.extractor(torch.cat(manual)[: tiny.N])[0].double().numpy()
    assert got == pytest.approx(want, rel=1e-5, abs=1e-5)
    assert not gen.training and torch.equal(gen.bn.running_mean, running)


@pytest.mark.parametrize("changes,split,n", [({"split": "train"}, "train", tiny.N), ({"n_real": 25}, "test", 25)])
def test_reference_side_variants_change_the_reference(changes, split, n):
    setup = tiny.setup()
    rkey = real_key(changes, setup.proto)
    feats = real_features(setup, rkey, n)
    plain = real_features(setup, real_key({}, setup.proto), tiny.N)
    assert rkey[0] == split and feats.shape[0] == n
    assert not np.allclose(feature_stats(feats)[0], feature_stats(plain)[0])
    assert gen_key(changes) == gen_key({}) and post_key(changes) == post_key({})


@pytest.mark.parametrize("method", RESIZE_FILTERS[1:])
def test_resize_variants_change_the_reference_images(method):
    """resize= (protocols that resize): each filter gives other 299x299 images than the extractor's own."""
    images = torch.from_numpy(tiny.View("test", 4).images).permute(0, 3, 1, 2).float().repeat(1, 1, 4, 4)
    own = resize_images(images, 299, RESIZE_FILTERS[0])
    mine = resize_images(images, 299, method)
    assert mine.shape == own.shape == (4, 3, 299, 299) and (mine - own).abs().mean() > 0.05
