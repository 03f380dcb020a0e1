"""FID at a requested N: ``fid_at`` from a 1/N fit on Gaussian features against the FID measured at N over
many independent draws, both ways (a 5k claim from a 500-fake evaluation and the reverse); and ``n=N`` in
``audit explain`` against the ``n_fake=N`` variant that draws those fakes, on the tiny world."""

from __future__ import annotations

import numpy as np
import pytest

from ganaudit.audit.explain import explain
from ganaudit.audit.explain_io import render
from ganaudit.cli.explain import main as explain_main
from ganaudit.metrics.fid import feature_stats, fid_from_stats
from ganaudit.metrics.sample_size import closed_form_fd, fid_at, fid_infinity

from . import tiny_setup as tiny

D = 16
RNG_TRUE = np.random.default_rng(11)
_A = RNG_TRUE.normal(size=(D, D))
MU_F, SIGMA_F = np.full(D, 0.05), _A @ _A.T / D + 0.3 * np.eye(D)  # fakes
MU_R, SIGMA_R = np.zeros(D), np.eye(D)  # reference, exact statistics


def _expected_fid_at(n: int, draws: int = 400, seed: int = 5) -> float:
    """E[FID_n] by Monte Carlo: the mean FID of ``draws`` independent sets of n fakes."""
    rng = np.random.default_rng(seed)
    return float(np.mean([fid_from_stats(*feature_stats(rng.multivariate_normal(MU_F, SIGMA_F, size=n)),
                                         MU_R, SIGMA_R) for _ in range(draws)]))


@pytest.fixture(scope="module")
def expected():
    """E[FID_n] at n = 500 and 5000 (Monte Carlo)."""
    return {500: _expected_fid_at(500, draws=600), 5000: _expected_fid_at(5000, draws=150)}


@pytest.mark.parametrize("have,want", [(500, 5000), (5000, 500)])
def test_fid_at_n_covers_the_fid_measured_at_n(expected, have, want):
    """Over 20 independent evaluations at ``have`` fakes: the CI of the FID expected at ``want`` holds
    E[FID_want] (Monte Carlo) in >= 80% of them, the estimates centre on it (within 3 standard errors)
    while the raw FIDs at ``have`` sit one bias difference away."""
    truth, rng = expected[want], np.random.default_rng(3)
    values, raws, hits = [], [], 0
    for trial in range(20):
        x = rng.multivariate_normal(MU_F, SIGMA_F, size=have)
        res = fid_infinity(x, (MU_R, SIGMA_R), n_boot=30, seed=trial)
        value, (lo, hi) = fid_at(res, want)
        assert value == pytest.approx(res.fid_inf + res.slope / want, rel=1e-12)  # the line, read at want
        values.append(value)
        raws.append(fid_from_stats(*feature_stats(x), MU_R, SIGMA_R))
        hits += lo <= truth <= hi
    shift = expected[have] - truth  # what reading FID at the wrong N costs
    assert 16 <= hits <= 20
    se = 3 * np.std(values, ddof=1) / np.sqrt(len(values))  # 3 standard errors of the mean of 20
    assert abs(np.mean(values) - truth) < se  # centred on E[FID_want] ...
    assert abs(np.mean(raws) - truth - shift) < 3 * np.std(raws, ddof=1) / np.sqrt(len(raws))  # raw: shifted
    assert abs(shift) > 3 * np.std(raws, ddof=1) / np.sqrt(len(raws))  # ... by more than its own noise
    assert closed_form_fd(MU_F, SIGMA_F, MU_R, SIGMA_R) < min(expected.values())  # FID_n is biased upwards


@pytest.fixture(scope="module")
def at_n_world():
    """The tiny world (200 fakes per stream) scored at n=100 / n=800 from the fit and n_fake=100 / 800 drawn."""
    setup = tiny.setup(streams=4)
    setup.sizes, setup.axes, setup.at_n, setup.max_changes = (100, 800), ("n_fake", "n"), (100, 800), 1
    result = explain(setup, tiny.sources(2), 0.0, tiny.SPLIT_SIZES)
    return result, {r["label"]: r for r in result["variants"]}


@pytest.mark.parametrize("n", [100, 800])
def test_n_variant_agrees_with_the_fakes_drawn_at_n(at_n_world, n):
    """n=N (read from the 1/N fit of 200 fakes) agrees with n_fake=N (N fakes drawn): each mean lies in
    the other's CI; the fit differs from the plain FID (it is not the plain number relabelled)."""
    result, rows = at_n_world
    fit, drawn, plain = rows[f"n={n}"], rows[f"n_fake={n}"], result["plain"]
    assert fit["ci"][0] <= drawn["fid"] <= fit["ci"][1] and drawn["ci"][0] <= fit["fid"] <= drawn["ci"][1]
    assert all(a != b for va, vb in zip(fit["values"], plain["values"], strict=True)
               for a, b in zip(va, vb, strict=True))
    assert fit["extrapolated"] is (n > 200) and fit["n_fake"] == 200 and drawn["n_fake"] == n


def test_extrapolation_is_said_in_the_output(at_n_world):
    result, rows = at_n_world
    text = render(result, top=20)
    row = rows["n=800"]
    assert (f"n=800: the FID expected at 800 fakes, extrapolated from each stream's 1/N fit over 200 fakes: "
            f"FID {row['fid']:.4f}, CI [{row['ci'][0]:.4f}, {row['ci'][1]:.4f}]") in text
    assert "n=100: the FID expected at 100 fakes, interpolated" in text
    assert "an extrapolation" in row["provenance"] and "an interpolation" in rows["n=100"]["provenance"]


@pytest.mark.parametrize("value", ["1", "5k", "100,-3"])
def test_at_n_refuses_what_is_not_a_count(value, capsys):
    assert explain_main(["--claim-fid", "5", "--at-n", value, "missing.pt"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
