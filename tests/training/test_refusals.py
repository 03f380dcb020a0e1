"""`python -m ganaudit.train` refuses what is wrong (docs/CONTRACTS.md, "Errors and exit codes"): each
case asserts the exit code, the one-line message, and what was (not) written. The CLI body is called
in-process (``main(cfg)``: Hydra's decorator passes a given config straight to it); one case runs the
real command in a subprocess."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganaudit.cli.train import main
from ganaudit.data.prepare import prepare
from ganaudit.data.store import shard_stem
from ganaudit.training.config import compose, config_hash
from ganaudit.utils.exits import run_cli
from tests.training.conftest import tiny_overrides

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits_data(tmp_path_factory) -> Path:
    """A prepared digits store (128-image shards) under ``<root>/data/prepared/digits``."""
    root = tmp_path_factory.mktemp("prepared")
    prepare("digits", None, root / "digits", splits_dir=root / "splits", shard_size=128, progress=False)
    return root


def cli(overrides: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``python -m ganaudit.train <overrides>``, run in-process
    (composing first, as the command does: a key the schema lacks is refused there)."""
    cfg = []
    try:
        code = run_cli(lambda: cfg.append(compose(overrides)))
        if code == 0:
            main(cfg[0])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def tiny(tmp_path, data: Path | None, *extra, d_steps=3) -> list[str]:
    return tiny_overrides(tmp_path, *( [f"paths.data={data}"] if data else []), *extra, d_steps=d_steps)


def test_unprepared_dataset_fails_before_writing_anything(tmp_path, capsys):
    code, out, err = cli(tiny(tmp_path, tmp_path / "nothing"), capsys)
    assert code == 1 and one_line(err), err
    assert f"dataset 'digits' is not prepared in {tmp_path / 'nothing' / 'digits'}" in err
    assert "`dvc repro prepare@digits` (or `python -m ganaudit.data prepare digits`)" in err  # params.yaml lists it
    assert out == "" and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("override,code,needle", [
    ("optim.lr=-1", 2, "option 'optim.lr' = -1.0: expected a learning rate > 0"),  # a float option
    ("+trainer.stepz=5", 2, "unknown option 'trainer.stepz': no part of ganaudit reads it"),
    ("eval.enabled=true", 2, "unknown protocol 'nope'"),
])
def test_option_errors_exit_2_before_writing(tmp_path, capsys, override, code, needle):
    extra = [override] + (["eval.protocol=nope"] if override.startswith("eval") else [])
    got, out, err = cli(tiny(tmp_path, None, *extra), capsys)
    assert got == code and one_line(err) and needle in err, err
    assert not (tmp_path / "runs").exists()


def test_unwritable_run_directory_is_refused_before_training(tmp_path, digits_data, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs directory should be")
    code, out, err = cli(tiny(tmp_path, digits_data), capsys)
    assert code == 1 and one_line(err) and "run directory" in err and "cannot be written" in err, err
    assert blocker.read_text().startswith("a file")


def test_failed_run_exits_1_and_diverged_run_exits_0(tmp_path, digits_data, capsys):
    code, out, err = cli(tiny(tmp_path, digits_data, "trainer.stop_at=1"), capsys)
    result = json.loads(out)
    assert code == 1 and one_line(err) and result["status"] == "failed"
    assert f"run {result['run_dir']} failed: stopped at D step 1 of 3" in err
    code, out, err = cli(tiny(tmp_path, digits_data, "optim.lr=1e30", "loss=wgan", "norm=none"), capsys)
    result = json.loads(out)
    if result["status"] != "diverged":
        pytest.fail(f"lr 1e30 was expected to diverge: {result['status']}")
    assert code == 0 and f"diverged at D step {result['diverged_step']}" in err and "error" not in err


def test_checkpoint_of_another_config_is_refused_naming_both(tmp_path, digits_data, capsys):
    code, out, _ = cli(tiny(tmp_path, digits_data), capsys)
    mine = json.loads(out)
    other_cfg = compose(tiny(tmp_path, digits_data, "optim.lr=0.001"))   # same tensor shapes
    other = Path(mine["run_dir"]).parent / f"{config_hash(other_cfg)}-s0"
    shutil.copytree(Path(mine["run_dir"]) / "checkpoints", other / "checkpoints")
    code, out, err = cli(tiny(tmp_path, digits_data, "optim.lr=0.001"), capsys)
    assert code == 1 and one_line(err), err
    assert f"written by config {mine['config_hash']} seed 0; this run is config {config_hash(other_cfg)} seed 0" in err
    assert not (other / "result.json").exists() and sorted(p.name for p in (other / "checkpoints").iterdir()) == \
        sorted(p.name for p in (Path(mine["run_dir"]) / "checkpoints").iterdir())


def test_truncated_last_checkpoint_falls_back_to_newest_intact_one(tmp_path, digits_data, capsys, caplog):
    code, out, _ = cli(tiny(tmp_path / "full", digits_data), capsys)
    full = json.loads(out)
    code, out, _ = cli(tiny(tmp_path / "cut", digits_data, "trainer.stop_at=2"), capsys)
    part = json.loads(out)
    last = Path(part["run_dir"]) / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="ganaudit.training.train"):
        code, out, err = cli(tiny(tmp_path / "cut", digits_data), capsys)
    rest = json.loads(out)
    assert code == 0 and rest["status"] == "ok" and rest["resumed_from"].endswith("dstep-0000002.ckpt")
    assert "last.ckpt in" in caplog.text and "resuming from the newest intact one, dstep-0000002.ckpt (D step 2)" \
        in caplog.text
    a = torch.load(Path(full["run_dir"]) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(Path(rest["run_dir"]) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # as if never interrupted


def test_no_readable_checkpoint_is_refused(tmp_path, digits_data, capsys):
    code, out, _ = cli(tiny(tmp_path, digits_data, "trainer.stop_at=1"), capsys)
    ckpts = Path(json.loads(out)["run_dir"]) / "checkpoints"
    for p in ckpts.iterdir():
        p.write_bytes(b"\x00" * 10)
    code, out, err = cli(tiny(tmp_path, digits_data), capsys)
    assert code == 1 and one_line(err) and f"no readable checkpoint in '{ckpts}'" in err, err
    assert json.loads((ckpts.parent / "result.json").read_text())["d_steps"] == 1   # the old record stays


def test_tampered_shard_fails_the_run_with_exit_1(tmp_path, digits_data, capsys):
    data = tmp_path / "data"
    shutil.copytree(digits_data, data)
    path = shard_stem(data / "digits", "train", 0).with_suffix(".npy")
    arr = np.load(path, mmap_mode="r+")
    arr[0, 0, 0, 0] ^= 1
    arr.flush()
    code, out, err = cli(tiny(tmp_path, data), capsys)
    assert code == 1 and one_line(err) and json.loads(out)["status"] == "failed"
    assert f"shard {path} has sha256" in err and "changed after preparation" in err


def test_unknown_option_value_is_one_line_exit_2_before_hydra(monkeypatch, capsys):
    from ganaudit.cli.hydra_app import hydra_cli

    ran = []
    monkeypatch.setattr(sys, "argv", ["ganaudit.training.train", "loss=nope", "hydra.run.dir=/x"])
    with pytest.raises(SystemExit) as exc:
        hydra_cli(lambda: ran.append(1), "config")
    assert exc.value.code == 2 and not ran
    assert capsys.readouterr().err == (
        "error: unknown loss 'nope'; allowed values for option 'loss': hinge, ls, mm, ns, wgan\n")
    monkeypatch.setattr(sys, "argv", ["ganaudit.training.train", "loss=ls", "hydra/launcher=parallel"])
    hydra_cli(lambda: ran.append(1), "config")
    assert ran == [1]                                   # valid overrides go on to Hydra's main


@pytest.mark.slow  # two interpreter start-ups with torch + Lightning: 10-120 s on a loaded 2-core box
def test_real_command_prints_one_line_and_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ganaudit.train", "optim.lr=-1", f"paths.root={tmp_path}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == \
        "error: option 'optim.lr' = -1.0: expected a learning rate > 0 (study grid: 0.0001, 0.0002, 0.001)"
    assert "Traceback" not in proc.stderr and not (tmp_path / "runs").exists()
    proc = subprocess.run([sys.executable, "-m", "ganaudit.train", "loss=nope", f"paths.root={tmp_path}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr == \
        "error: unknown loss 'nope'; allowed values for option 'loss': hinge, ls, mm, ns, wgan\n", proc.stderr
