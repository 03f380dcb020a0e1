"""``audit verdict`` with two levels of randomness: latent streams per generator, seeds across inputs,
combined by variance components; ``inconclusive`` past the tolerance."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.stats import t

from ganaudit.audit.stats import variance_components
from ganaudit.audit.verdict import decide
from ganaudit.cli.verdict import main as verdict
from tests.metrics.conftest import TinyGenerator, digits_view, digits_weights  # noqa: F401 (fixtures)


def test_variance_components_by_hand():
    got = variance_components([[1.0, 3.0], [5.0, 7.0]])
    # means 2, 6: between-input variance 8; within variances 2, 2; seed = 8 - 2/2 = 7
    assert (got["mean"], got["var_sampling"], got["var_seed"]) == pytest.approx((4.0, 2.0, 7.0), abs=1e-12)
    half = t.ppf(0.975, 1) * math.sqrt(8 / 2)
    assert got["ci"] == pytest.approx([4 - half, 4 + half], rel=1e-12)
    one = variance_components([[10.0]], [4.0])  # a sample file: one value and its bootstrap variance
    assert one["ci"] == pytest.approx([10 - 1.959963984540054 * 2, 10 + 1.959963984540054 * 2], rel=1e-9)
    assert math.isnan(one["var_seed"])


@pytest.mark.parametrize("ci,expected", [((90.0, 110.0), "reproduced"), ((80.0, 120.0), "inconclusive"),
                                         ((101.0, 140.0), "worse"), ((60.0, 99.0), "better")])
def test_inconclusive_only_when_the_claim_sits_in_a_wide_ci(ci, expected):
    assert decide(100.0, [1, 2, 3], ci=ci, tolerance=0.10) == expected
    assert decide(100.0, [1, 2, 3], ci=ci) == expected.replace("inconclusive", "reproduced")


def test_verdict_reports_sampling_and_seed_components(tmp_path, capsys, digits_weights, digits_view):  # noqa: F811
    inputs = []
    for seed in range(3):
        path = tmp_path / f"g{seed}.pt"
        torch.save(TinyGenerator(seed=seed).eval(), path)
        inputs.append(str(path))
    rc = verdict(["--claim-fid", "100", "--dataset", "digits", "--streams", "3", "--n-boot", "200", "--trust-pickle",
                  "--artifacts", str(digits_weights.parent), "--record", str(tmp_path / "r.jsonl"), "--json", *inputs])
    out = capsys.readouterr()
    assert rc == 0, out.err
    got = json.loads(out.out)
    comp = got["components"]
    values = [s["values"] for s in comp["sampling"]]
    assert [len(v) for v in values] == [3, 3, 3] and all(s["method"] == "3 latent streams" for s in comp["sampling"])
    # stream 0 is the protocol's stream: the evaluate path's FID of the same generator
    assert [v[0] for v in values] == pytest.approx([s["score"] for s in got["seeds"]], rel=1e-6)
    means = np.mean(values, axis=1)
    half = t.ppf(0.975, 2) * np.std(means, ddof=1) / math.sqrt(3)
    assert (got["ci_lo"], got["ci_hi"]) == pytest.approx((means.mean() - half, means.mean() + half), rel=1e-9)
    assert comp["var_sampling"] == pytest.approx(np.mean([np.var(v, ddof=1) for v in values]), rel=1e-9)
    assert "variance components" in got["rule"] and "Inconclusive" in got["rule"]
    lo, hi = got["ci_lo"], got["ci_hi"]
    expected = "worse" if lo > 100 else "better" if hi < 100 else \
        "inconclusive" if (hi - lo) / 2 > 10 else "reproduced"
    assert got["verdict"] == expected
