"""The FID Inception module: state_dict layout of the published file and outputs equal to the
reference implementation (pytorch-fid) under seeded random weights. Fixtures and their recipe:
tests/metrics/fixtures/ (make_inception_reference.py, run in a separate venv)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganaudit.metrics import EXTRACTORS, pins
from ganaudit.metrics.inception import INCEPTION_WEIGHTS, FIDInception, load_inception
from ganaudit.utils.errors import WeightsError
from ganaudit.utils.hashing import sha256_file

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from seeded_weights import seeded_images, seeded_state  # noqa: E402

KEY_SHAPES = json.loads((FIXTURES / "inception_state_dict_keys.json").read_text())


def test_state_dict_layout_equals_the_published_file():
    ours = {k: list(v.shape) for k, v in FIDInception().state_dict().items()}
    assert ours == KEY_SHAPES
    assert len(KEY_SHAPES) == 566
    assert KEY_SHAPES["fc.weight"] == [1008, 2048]
    assert sum(int(np.prod(s)) for s in KEY_SHAPES.values()) == 23_885_486


REF = np.load(FIXTURES / "inception_reference.npz")


@pytest.fixture(scope="module")
def seeded_tensors():
    """The reference's seeded weights (24M numbers: drawn once per module)."""
    return {k: torch.from_numpy(v) for k, v in seeded_state(KEY_SHAPES, int(REF["weight_seed"])).items()}


@pytest.mark.timeout(120)
def test_outputs_equal_the_reference_implementation_with_seeded_weights(seeded_tensors):
    ref = REF
    net = FIDInception().eval()
    net.load_state_dict(seeded_tensors, strict=True)
    x = torch.from_numpy(seeded_images(len(ref["pool3"]), 299, int(ref["image_seed"])))
    with torch.no_grad():
        pool3, logits = net(x)
    assert pool3.shape == (3, 2048) and logits.shape == (3, 1008)
    # float32 through ~100 layers: agree to 1e-5 of the output scale (measured max diff ~2e-7 relative)
    for ours, theirs in ((pool3.numpy(), ref["pool3"]), (logits.numpy(), ref["logits"])):
        scale = np.abs(theirs).max()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * scale)
    assert (pool3 >= 0).all()  # pool3 averages ReLU outputs


def _write_state(path: Path, tensors: dict) -> None:
    torch.save(tensors, path)


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(WeightsError) as err:
        load_inception(tmp_path)
    msg = str(err.value)
    assert pins.INCEPTION_FILENAME in msg and "weights/dvc.yaml:inception" in msg and pins.INCEPTION_URL in msg


def test_wrong_hash_is_refused(tmp_path, seeded_tensors):
    path = tmp_path / pins.INCEPTION_FILENAME
    _write_state(path, seeded_tensors)  # right layout, wrong bytes: its sha256 does not start with 6726825d
    assert not sha256_file(path).startswith(pins.INCEPTION_SHA256_PREFIX)
    with pytest.raises(WeightsError, match="6726825d"):
        EXTRACTORS.get("inception_2015_12_05")(tmp_path)


@pytest.mark.timeout(120)
def test_loader_accepts_a_file_matching_the_pin(tmp_path, monkeypatch, seeded_tensors):
    import ganaudit.metrics.inception as inc

    path = tmp_path / pins.INCEPTION_FILENAME
    _write_state(path, seeded_tensors)
    digest = sha256_file(path)
    monkeypatch.setattr(inc, "INCEPTION_WEIGHTS", INCEPTION_WEIGHTS.__class__(
        **{**INCEPTION_WEIGHTS.__dict__, "sha256_prefix": digest[:8], "sha256": digest}))
    extractor = inc.load_inception(tmp_path)
    assert extractor.weights_sha256 == digest
    feats, logits = extractor(torch.full((1, 3, 32, 32), 128.0))  # resized to 299 inside
    assert feats.shape == (1, 2048) and logits.shape == (1, 1008)
