"""The digits demo extractor: deterministic training, accuracy, pinned-weights checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaudit.metrics import EXTRACTORS, digits_cnn
from ganaudit.utils.errors import WeightsError
from ganaudit.utils.hashing import sha256_file


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    from ganaudit.data.digits import render_digits

    d = load_digits()
    perm = np.random.default_rng(0).permutation(len(d.target))
    x, y = render_digits(d.images[perm]), d.target[perm]
    return x[500:], y[500:], x[:500], y[:500]


@pytest.mark.timeout(120)
def test_training_is_deterministic_and_seed_dependent(digits):
    x, y = digits[0][:400], digits[1][:400]
    a = digits_cnn.train_classifier(x, y, seed=0, epochs=1)
    b = digits_cnn.train_classifier(x, y, seed=0, epochs=1)
    c = digits_cnn.train_classifier(x, y, seed=1, epochs=1)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.timeout(120)
def test_full_training_reaches_high_test_accuracy(digits):
    x_tr, y_tr, x_te, y_te = digits
    net = digits_cnn.train_classifier(x_tr, y_tr, seed=0)
    acc = digits_cnn.accuracy(net, x_te, y_te)
    assert 0.95 <= acc <= 1.0


def test_extractor_shapes_and_range(digits_weights):
    ext = EXTRACTORS.get("digits_cnn")(digits_weights)
    feats, logits = ext(torch.rand(4, 3, 32, 32) * 255)
    assert feats.shape == (4, 64) and logits.shape == (4, 10) and (feats >= 0).all()
    assert ext.weights_sha256 == sha256_file(digits_weights / "digits_cnn.pt")


def test_missing_weights_name_the_stage(tmp_path):
    with pytest.raises(WeightsError, match="weights@digits"):
        EXTRACTORS.get("digits_cnn")(tmp_path)


def test_sidecar_mismatch_is_refused(digits_weights):
    (digits_weights / "digits_cnn.pt.sha256").write_text("0" * 64 + "  digits_cnn.pt\n")
    with pytest.raises(WeightsError, match="sha256 recorded beside the file"):
        EXTRACTORS.get("digits_cnn")(digits_weights)


def test_committed_pin_is_checked(digits_weights, monkeypatch):
    spec = digits_cnn.DIGITS_WEIGHTS
    monkeypatch.setattr(digits_cnn, "DIGITS_WEIGHTS", spec.__class__(**{**spec.__dict__, "sha256": "1" * 64}))
    with pytest.raises(WeightsError, match="pinned sha256 1111"):
        EXTRACTORS.get("digits_cnn")(digits_weights)


def test_wrong_resolution_is_refused(digits_weights):
    from ganaudit.utils.errors import DataError

    with pytest.raises(DataError, match=r"\[B, 3, 32, 32\]"):
        EXTRACTORS.get("digits_cnn")(digits_weights)(torch.zeros(1, 3, 64, 64))
