"""The reviewer's numbers: a claimed FID must be a possible FID, and one seed passed twice (the same file,
run directory, run or generator weights) is refused before anything is evaluated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ganaudit.cli.explain import main as explain_main
from ganaudit.cli.verdict import main as verdict_main
from tests.training.conftest import train_tiny_run

pytestmark = pytest.mark.timeout(300)


def _run_dirs(tmp_path: Path, fids=(30.0, 31.0, 32.5)) -> list[str]:
    """Finished run directories of one configuration (seeds 0, 1, 2) with the given fid_min."""
    out = []
    for seed, fid in enumerate(fids):
        d = tmp_path / "runs" / f"abcdef0123456789-s{seed}"
        d.mkdir(parents=True)
        (d / "result.json").write_text(json.dumps({
            "status": "ok", "seed": seed, "config_hash": "abcdef0123456789", "fid_min": fid, "fid_min_step": 10,
            "config": {"dataset": {"name": "digits"}}}))
        out.append(str(d))
    return out


@pytest.mark.parametrize("value", ["-3", "nan", "inf", "-inf"])
@pytest.mark.parametrize("cli", [verdict_main, explain_main], ids=["verdict", "explain"])
def test_an_impossible_claimed_fid_is_refused(cli, value, tmp_path, capsys):
    code = cli([f"--claim-fid={value}", *_run_dirs(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: option '--claim-fid' = {float(value)}: expected a finite FID >= 0")


def test_a_claim_of_zero_is_decided_by_the_statistics(tmp_path, capsys):
    """0 is a possible FID (identical distributions): not refused, and seeds at 30-32.5 do not reproduce it."""
    code = verdict_main(["--claim-fid", "0", "--streams", "0", "--n-boot", "200", "--json", *_run_dirs(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    got = json.loads(out.out)
    assert got["claim_fid"] == 0.0 and got["verdict"] == "worse" and got["ci_lo"] >= 30.0


def test_a_claim_of_zero_with_seeds_at_zero_is_reproduced(tmp_path, capsys):
    code = verdict_main(["--claim-fid", "0", "--streams", "0", "--n-boot", "200", "--json",
                         *_run_dirs(tmp_path, fids=(0.0, 0.0, 0.0))])
    out = capsys.readouterr()
    assert code == 0 and json.loads(out.out)["verdict"] == "reproduced", out.err


def test_the_same_run_directory_twice_is_refused(tmp_path, capsys):
    dirs = _run_dirs(tmp_path)
    again = str(Path(dirs[0]).parent / "." / Path(dirs[0]).name)  # another spelling of the same directory
    assert verdict_main(["--claim-fid", "30", "--streams", "0", dirs[0], dirs[1], again]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: inputs '{dirs[0]}' and '{again}' are the same seed (same run directory)")


def test_a_copied_run_directory_is_the_same_run(tmp_path, capsys):
    dirs = _run_dirs(tmp_path)
    copy = tmp_path / "elsewhere"
    shutil.copytree(dirs[1], copy)
    assert verdict_main(["--claim-fid", "30", "--streams", "0", *dirs, str(copy)]) == 2
    err = capsys.readouterr().err
    assert f"inputs '{dirs[1]}' and '{copy}' are the same seed (same run)" in err


@pytest.mark.parametrize("cli", [verdict_main, explain_main], ids=["verdict", "explain"])
def test_the_same_sample_file_three_times_is_refused_before_evaluating(cli, tmp_path, capsys):
    samples = tmp_path / "s.npz"
    np.savez(samples, images=np.zeros((4, 8, 8, 3), np.uint8))
    copy = tmp_path / "copy.npz"
    shutil.copy(samples, copy)
    record = tmp_path / "rec.jsonl"
    extra = ["--record", str(record)] if cli is verdict_main else []
    assert cli(["--claim-fid", "20", "--dataset", "digits", *extra, str(samples), str(copy), str(samples)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"inputs '{samples}' and '{copy}' are the same seed (same file contents)" in err
    assert not record.exists()  # refused before any evaluation


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("dup"))


def test_the_same_generator_weights_in_two_files_are_one_seed(trained, tmp_path, capsys):
    """A run checkpoint and a state_dict exported from it differ as files but hold the same generator."""
    ckpt = trained / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    export = tmp_path / "g_state.pt"
    torch.save({k: v for k, v in state.items() if k.startswith("generator.")}, export)
    code = verdict_main(["--claim-fid", "20", "--config", str(trained / "config.yaml"), "--record",
                         str(tmp_path / "r.jsonl"), str(ckpt), str(export)])
    err = capsys.readouterr().err
    assert code == 2 and f"inputs '{ckpt}' and '{export}' are the same seed (same generator weights)" in err, err
    assert not (tmp_path / "r.jsonl").exists()


def test_a_run_directory_and_its_checkpoint_are_one_seed(trained, capsys):
    ckpt = trained / "checkpoints" / "last.ckpt"
    assert verdict_main(["--claim-fid", "20", str(trained), str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert f"inputs '{trained}' and '{ckpt}' are the same seed (same run)" in err, err
