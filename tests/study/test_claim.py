"""``ganaudit audit verdict`` on run directories (no training): the rule, row matching, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganaudit.cli.verdict import main as verdict
from ganaudit.training.config import compose, config_hash, to_plain

ROOT = Path(__file__).resolve().parents[2]
BASELINES = str(ROOT / "audits" / "baselines" / "published_models.csv")
HUB13_FID = 22.91  # audits/baselines/published_models.csv, row hub13


def run_dir(tmp_path: Path, seed: int, fid_min, overrides=(), status="ok") -> Path:
    """A finished run's directory holding only its result.json (the fields the verdict reads)."""
    cfg = compose(["experiment=kurach2019/hub13", f"seed={seed}", *overrides])
    path = tmp_path / f"{config_hash(cfg)}-s{seed}"
    path.mkdir()
    (path / "result.json").write_text(json.dumps({
        "status": status, "seed": seed, "config_hash": config_hash(cfg), "config": to_plain(cfg),
        "fid_min": fid_min, "fid_min_step": None if fid_min is None else 20000}))
    return path


def call(capsys, *args) -> tuple[int, dict | str]:
    rc = verdict([*map(str, args), "--baselines", BASELINES, "--json"])
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if rc == 0 else out.err)


def reference_ci(values, n_boot=10_000, seed=0, level=0.95):
    """Independent percentile bootstrap of the median (same resampling stream as documented)."""
    x = np.asarray(values, float)
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    return tuple(np.percentile(np.median(x[idx], axis=1), [100 * (1 - level) / 2, 100 * (1 + level) / 2]))


@pytest.mark.parametrize("scores,expected", [
    ([18.0, 19.0, 20.0, 21.0], "better"),        # every resampled median < 22.91
    ([25.0, 26.0, 27.5, 30.0], "worse"),         # every resampled median > 22.91
    ([21.0, 22.5, 23.5, 25.0], "reproduced"),    # 22.91 between the middle values
])
def test_row_verdict_follows_the_rule(tmp_path, capsys, scores, expected):
    runs = [run_dir(tmp_path, s, v) for s, v in enumerate(scores)]
    rc, got = call(capsys, "--row", "hub13", *runs)
    assert rc == 0, got
    assert (got["verdict"], got["claim_fid"], got["n_scored"]) == (expected, HUB13_FID, 4)
    assert got["median"] == pytest.approx(np.median(scores), abs=1e-12)
    lo, hi = reference_ci(scores)
    assert (got["ci_lo"], got["ci_hi"]) == pytest.approx((lo, hi), abs=1e-12)
    assert min(scores) <= got["ci_lo"] <= got["median"] <= got["ci_hi"] <= max(scores)
    assert "published inside [ci_lo, ci_hi] -> 'reproduced'" in got["rule"]


def test_diverged_seeds_are_counted_not_scored(tmp_path, capsys):
    runs = [run_dir(tmp_path, 0, 21.0), run_dir(tmp_path, 1, None, status="diverged"), run_dir(tmp_path, 2, 24.0)]
    rc, got = call(capsys, "--row", "hub13", *runs)
    assert rc == 0 and (got["n_inputs"], got["n_scored"], got["verdict"]) == (3, 2, "too few seeds")
    assert [s["status"] for s in got["seeds"]] == ["ok", "diverged", "ok"]


def test_inputs_must_be_the_rows_configuration(tmp_path, capsys):
    other = run_dir(tmp_path, 0, 21.0, overrides=["optim.lr=0.001"])
    rc, err = call(capsys, "--row", "hub13", other)
    assert rc == 2 and "lr: ours 0.001, row 0.0002" in err and err.count("\n") == 1
    short = run_dir(tmp_path, 1, 21.0, overrides=["trainer.d_steps=1000"])
    rc, err = call(capsys, "--row", "hub13", short)
    assert rc == 2 and "d_steps" in err and "--any-d-steps" in err
    rc, got = call(capsys, "--row", "hub13", "--any-d-steps", "--min-seeds", "1", short)
    assert rc == 0 and got["verdict"] == "better"  # one seed: CI [21, 21], below the published 22.91


def test_mixed_configurations_and_unknown_rows_are_refused(tmp_path, capsys):
    a, b = run_dir(tmp_path, 0, 21.0), run_dir(tmp_path, 1, 22.0, overrides=["optim.beta1=0.501"])
    rc, err = call(capsys, "--claim-fid", "22", a, b)
    assert rc == 2 and "2 configurations" in err
    rc, err = call(capsys, "--row", "hub99", a)
    assert rc == 2 and "'--row' = 'hub99'" in err and "hub13" in err
    rc, err = call(capsys, "--claim-fid", "22", tmp_path / "nowhere.npz")
    assert rc == 2 and "nowhere.npz" in err and "no such file" in err
