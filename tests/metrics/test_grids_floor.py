"""Sample grids (ganaudit.metrics.grids) and the real-data floor (ganaudit.metrics.floor), offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import ganaudit.data
import ganaudit.metrics.evaluate as ev
from ganaudit.metrics import fid, grids, protocol_for
from ganaudit.metrics.floor import real_floor
from ganaudit.utils.errors import DataError

from .conftest import FakeView, TinyGenerator, digit_like_images


def test_grid_size_and_tiling_by_hand():
    assert grids.grid_size(32) == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2) == (274, 274)
    assert grids.grid_size(4, n=3, cols=2, pad=1) == (2 * 4 + 3, 2 * 4 + 3)
    images = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (10, 20, 30)])
    out = grids.tile(images, cols=2, pad=1)
    assert out.shape == (11, 11, 3)
    assert (out[1:5, 1:5] == 10).all() and (out[1:5, 6:10] == 20).all() and (out[6:10, 1:5] == 30).all()
    assert (out[0] == grids.PAD_VALUE).all() and (out[:, 5] == grids.PAD_VALUE).all()
    assert (out[6:10, 6:10] == grids.PAD_VALUE).all()  # the missing 4th tile stays padding


def test_quantize_hand_values():
    x = torch.tensor([0.0, 1.0, -0.3, 1.7, 0.5, 1 / 255, 0.5 / 255, 1.5 / 255, 2.5 / 255]).view(1, 1, 1, -1)
    x = x.expand(1, 3, 1, 9)
    got = grids.quantize(x)[0, 0, :, 0]
    # 127.5 -> 128 and 0.5 -> 0, 1.5 -> 2, 2.5 -> 2: round half to even (float32 products of k/255 * 255)
    want = np.round(np.clip(x[0, 0, 0].numpy().astype(np.float32), 0, 1) * np.float32(255))
    assert got.tolist() == want.astype(np.uint8).tolist()
    assert got[:5].tolist() == [0, 255, 0, 255, 128]
    assert grids.quantize(x).shape == (1, 1, 9, 3)


def test_grid_latents_are_the_evaluations_first_latents():
    proto = protocol_for("digits")
    stream = torch.cat(list(ev.eval_latents(proto, 200, 16)))
    assert torch.equal(grids.grid_latents(proto.latent_seed, 16), stream[:64])
    assert torch.equal(grids.grid_latents(proto.latent_seed, 16, n=100, gen_batch=64), stream[:100])
    assert not torch.equal(grids.grid_latents(proto.latent_seed + 1, 16), stream[:64])


def test_generator_grid_pixels_equal_the_generator_output(tmp_path):
    gen = TinyGenerator(seed=3).train()
    gen(torch.rand(16, 8))  # move the BN running stats away from their initial values
    path = grids.write_generator_grid(gen, tmp_path / "g.png", latent_seed=42)
    assert gen.training  # mode restored
    png = np.asarray(Image.open(path).convert("RGB"))
    assert png.shape == (274, 274, 3)
    # independent reference: numpy quantization of G(z) in eval mode on the evaluation's latents
    z = torch.cat(list(ev.eval_latents(protocol_for("digits"), 64, 8)))
    with torch.no_grad():
        ref = gen.eval()(z).numpy()
    ref_u8 = np.round(np.clip(ref, 0, 1) * np.float32(255)).astype(np.uint8).transpose(0, 2, 3, 1)
    for i in (0, 9, 63):
        y, x = 2 + (i // 8) * 34, 2 + (i % 8) * 34
        np.testing.assert_array_equal(png[y : y + 32, x : x + 32], ref_u8[i])
    train_mode = gen.train()(z).detach().numpy()  # batch statistics: other pixels (eval mode matters)
    assert not np.array_equal(np.round(np.clip(train_mode, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)[0],
                              ref_u8[0])


def test_real_grid_shows_the_first_images(tmp_path):
    images = digit_like_images(70, seed=0)
    png = np.asarray(Image.open(grids.write_real_grid(FakeView(images), tmp_path / "r.png")))
    assert png.shape == (274, 274, 3)
    np.testing.assert_array_equal(png[2 + 34 : 2 + 34 + 32, 2 + 2 * 34 : 2 + 2 * 34 + 32], images[10])


@pytest.mark.timeout(120)
def test_floor_is_the_fid_of_the_other_split(tmp_path, digits_weights, monkeypatch):
    from ganaudit.metrics.features import EXTRACTORS

    test_view, train_view = FakeView(digit_like_images(500, seed=1)), FakeView(digit_like_images(600, seed=2))
    views = {"test": test_view, "train": train_view}
    monkeypatch.setattr(ganaudit.data, "open_split", lambda name, split, data_dir: views[split])
    rec = real_floor("digits", data_dir="unused", artifacts_dir=digits_weights.parent)
    ext = EXTRACTORS.get("digits_cnn")(digits_weights)
    with torch.no_grad():
        f_test = ext(torch.from_numpy(test_view.images).permute(0, 3, 1, 2).float())[0].numpy()
        f_train = ext(torch.from_numpy(train_view.images[:500]).permute(0, 3, 1, 2).float())[0].numpy()
    assert rec["fid"] == pytest.approx(fid(f_test, f_train), rel=1e-6)
    assert 0 < rec["fid"] < 1e4
    assert rec["provenance"]["protocol"] == "digits_cnn" and rec["provenance"]["n_fake"] == 500
    assert rec["provenance"]["context"]["samples"] == "real:train[:500]"
    views["train"] = test_view  # the reference images themselves: FID 0 (invariant)
    assert abs(real_floor("digits", data_dir="unused", artifacts_dir=digits_weights.parent)["fid"]) < 1e-3
    views["train"] = FakeView(digit_like_images(499, seed=2))
    with pytest.raises(DataError, match="has 499 images.*needs 500"):
        real_floor("digits", data_dir="unused", artifacts_dir=digits_weights.parent)
