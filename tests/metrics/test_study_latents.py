"""Evaluation latents and IS logits as the study's code made them ([V2] eval_gan_lib, spec §6.1, §6.3)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import ganaudit.metrics.evaluate as ev
from ganaudit.metrics import PROTOCOLS, inception_score, protocol_for
from ganaudit.utils.errors import ConfigError

from .conftest import TinyGenerator


def study_stream(n_batches: int, z_dim: int, batch: int = 64) -> list[np.ndarray]:
    """[V2]: np.random.seed(42) once per checkpoint, then batch k = the k-th
    np.random.uniform(-1, 1, size=(64, z_dim)), fed to a float32 placeholder."""
    state = np.random.get_state()
    try:
        np.random.seed(42)
        return [np.random.uniform(-1, 1, size=(batch, z_dim)).astype(np.float32) for _ in range(n_batches)]
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize("name", PROTOCOLS.names())
def test_every_protocol_draws_the_study_latent_stream(name):
    proto = PROTOCOLS.get(name)
    assert (proto.latent_seed, proto.gen_batch, proto.latent_rng) == (42, 64, "numpy_legacy")
    z_dim, n = 128, 64 * 3 + 5  # ceil -> 4 batches, the last truncated later by generated_batches
    got = list(ev.eval_latents(proto, n, z_dim))
    want = study_stream(4, z_dim)
    assert len(got) == 4
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == torch.float32 and g.shape == (64, z_dim)
        assert np.array_equal(g.numpy(), w), f"batch {k} differs from the study's draw"


def test_hand_derived_first_latent_and_global_state_untouched():
    # np.random.seed(42); np.random.random_sample() = 0.3745401188473625 (the MT19937 stream of seed 42),
    # so the first z is -1 + 2 * 0.37454... = -0.250919762305275 (float64), cast to float32
    before = np.random.get_state()[1].copy()
    z = next(ev.eval_latents(protocol_for("cifar10"), 64, 128))
    assert float(z[0, 0]) == np.float32(-0.250919762305275)
    assert z.min() >= -1 and z.max() < 1
    assert np.array_equal(np.random.get_state()[1], before)  # numpy's global RNG is not consumed


def test_torch_latents_stay_available_as_an_option():
    proto = dataclasses.replace(protocol_for("cifar10"), latent_rng="torch")
    z = next(ev.eval_latents(proto, 64, 16))
    want = torch.rand(64, 16, generator=torch.Generator().manual_seed(42)) * 2 - 1
    assert torch.equal(z, want)
    with pytest.raises(ConfigError, match="latent_rng"):
        dataclasses.replace(proto, latent_rng="jax")


def test_generated_batches_use_the_study_latents():
    gen = TinyGenerator().eval()
    proto = protocol_for("digits")
    got = torch.cat(list(ev.generated_batches(gen, proto, 100, 8, torch.device("cpu"))))
    z = torch.from_numpy(np.concatenate(study_stream(2, 8)))[:100]
    with torch.no_grad():
        want = gen(z) * 255.0
    assert got.shape == (100, 3, 32, 32) and torch.equal(got, want)


@pytest.mark.timeout(120)
def test_is_without_bias_option(tmp_path, digits_weights, digits_view, monkeypatch):
    """kurach2019_is_nobias computes IS from logits minus the softmax bias (OpenAI's IS code)."""
    from ganaudit.metrics import digits_cnn
    from ganaudit.metrics.features import EXTRACTORS

    load = digits_cnn.load_digits_cnn

    def load_with_a_strong_bias(weights_dir):  # spread logits and a bias that moves p(y), so the choice shows
        ext = load(weights_dir)
        with torch.no_grad():
            ext.net.fc2.weight.mul_(100.0)
            ext.net.fc2.bias.copy_(torch.linspace(-3.0, 3.0, 10))
        return ext

    monkeypatch.setattr(digits_cnn, "load_digits_cnn", load_with_a_strong_bias)
    assert PROTOCOLS.get("kurach2019").is_logits == "with_bias"
    assert PROTOCOLS.get("kurach2019_is_nobias").is_logits == "without_bias"
    proto = dataclasses.replace(protocol_for("digits"), is_logits="without_bias")
    monkeypatch.setattr(ev, "protocol_for", lambda dataset, protocol: proto)
    gen = TinyGenerator()
    result = ev.evaluate_generator(gen, dataset="digits", protocol="x", data_dir="u",
                                   artifacts_dir=digits_weights.parent, record_path=None, context={})
    ext = EXTRACTORS.get("digits_cnn")(digits_weights)
    gen.eval()
    fakes = torch.cat(list(ev.generated_batches(gen, proto, 500, 8, torch.device("cpu"))))
    feats, logits = ext(fakes)
    w, b = ext.net.fc2.weight.detach(), ext.net.fc2.bias.detach()
    unbiased = feats.double() @ w.double().T  # pool3 @ W, independent of logits_bias
    assert result["is"] == pytest.approx(inception_score(unbiased.numpy()), rel=1e-5)
    assert abs(inception_score(logits.numpy()) - result["is"]) > 1e-3 * result["is"]  # the bias matters
    assert torch.allclose(logits - b, unbiased.float(), atol=1e-4)
