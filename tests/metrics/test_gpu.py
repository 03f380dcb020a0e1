"""CUDA checks (``pytest -m gpu``; skipped without a GPU): GPU features equal CPU/reference ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ganaudit.metrics.evaluate as ev

from .conftest import TinyGenerator

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.timeout(300)
def test_inception_on_cuda_matches_the_reference():
    sys.path.insert(0, str(FIXTURES))
    from seeded_weights import seeded_images, seeded_state

    from ganaudit.metrics.inception import FIDInception
    from ganaudit.metrics.weights import exact_float32

    key_shapes = json.loads((FIXTURES / "inception_state_dict_keys.json").read_text())
    ref = np.load(FIXTURES / "inception_reference.npz")
    net = FIDInception().eval()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in seeded_state(key_shapes, int(ref["weight_seed"])).items()})
    x = torch.from_numpy(seeded_images(3, 299, int(ref["image_seed"])))
    with torch.no_grad(), exact_float32():
        pool3, logits = net.cuda()(x.cuda())
    for ours, theirs in ((pool3.cpu().numpy(), ref["pool3"]), (logits.cpu().numpy(), ref["logits"])):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.timeout(300)
def test_evaluate_generator_on_cuda_equals_cpu(tmp_path, digits_weights, digits_view):
    kw = dict(dataset="digits", protocol="auto", data_dir="x", artifacts_dir=digits_weights.parent,
              record_path=None, context={})
    cpu = ev.evaluate_generator(TinyGenerator(), **kw)
    gpu_gen = TinyGenerator().cuda().train()
    gpu = ev.evaluate_generator(gpu_gen, **kw)
    assert gpu_gen.training
    # same latents (drawn on the CPU), float32 network on two devices: FID/IS agree closely
    assert gpu["fid"] == pytest.approx(cpu["fid"], rel=1e-4)
    assert gpu["is"] == pytest.approx(cpu["is"], rel=1e-4)
