"""A reviewer's file never runs code unless the reviewer opts in, and an edited checkpoint is refused by
every command that reads one.

The planted ``.pt`` is a pickle whose ``__reduce__`` opens (creates) a marker file: if the marker exists
after a command, the file's code ran. Every entry point that reads a generator file is tried: evaluate,
audit verdict, audit explain and the resume of a training run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganaudit.cli import evaluate as evaluate_cli
from ganaudit.cli import explain as explain_cli
from ganaudit.cli import verdict as verdict_cli
from ganaudit.data.datamodule import GANDataModule
from ganaudit.metrics.checkpoints import load_generator
from ganaudit.training.config import compose, run_dir
from ganaudit.training.train import train
from ganaudit.utils.errors import CheckpointError, ConfigError
from tests.training.conftest import tiny_images, tiny_overrides, train_tiny_run

pytestmark = pytest.mark.timeout(300)
REFUSAL = "loads only by full unpickling"
RISK = "a pickle can run arbitrary code; pass trust_pickle=true (audit commands: --trust-pickle)"


class _Planted:
    """Pickles as ``open(marker, "w")``: loading the file with full unpickling creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def planted(tmp_path) -> tuple[Path, Path]:
    """(the crafted .pt file, the marker its unpickling would create)."""
    marker = tmp_path / "code-ran.marker"
    path = tmp_path / "generator.pt"
    torch.save({"generator": _Planted(marker)}, path)
    assert not marker.exists()
    return path, marker


def test_the_planted_file_does_run_code_when_fully_unpickled(planted):
    """The fixture is a real threat: full unpickling creates the marker (so its absence below means
    that nothing ran, not that the file was harmless)."""
    path, marker = planted
    torch.load(path, weights_only=False)
    assert marker.is_file()


def test_load_generator_refuses_without_the_opt_in_and_runs_nothing(planted):
    path, marker = planted
    with pytest.raises(ConfigError) as err:
        load_generator(path)
    assert str(err.value).startswith(f"checkpoint '{path}' {REFUSAL} (it names io.open)") and RISK in str(err.value)
    assert not marker.exists()


def test_evaluate_refuses_then_loads_with_trust_pickle(planted, tmp_path, capsys):
    path, marker = planted
    argv = [f"samples={path}", "dataset=digits", f"paths.root={tmp_path}"]
    assert evaluate_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: checkpoint '{path}' {REFUSAL}") and RISK in err
    assert not marker.exists()
    # with the opt-in the file is unpickled (its code runs), then refused for holding no generator
    assert evaluate_cli.main([*argv, "trust_pickle=true"]) == 1
    assert marker.is_file()
    assert "holds a" in capsys.readouterr().err


def test_evaluate_refusal_from_a_fresh_process_is_one_line(planted, tmp_path):
    path, marker = planted
    proc = subprocess.run([sys.executable, "-m", "ganaudit.evaluate", f"samples={path}", "dataset=digits",
                           f"paths.root={tmp_path}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and REFUSAL in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize("cli", [verdict_cli, explain_cli], ids=["verdict", "explain"])
def test_audit_commands_refuse_without_trust_pickle(cli, planted, tmp_path, capsys):
    path, marker = planted
    argv = ["--claim-fid", "3", "--dataset", "digits", "--root", str(tmp_path), str(path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: checkpoint '{path}' {REFUSAL}" in err and "--trust-pickle" in err
    assert not marker.exists()


def test_audit_verdict_with_trust_pickle_unpickles(planted, tmp_path, capsys):
    path, marker = planted
    code = verdict_cli.main(["--claim-fid", "3", "--dataset", "digits", "--root", str(tmp_path), "--trust-pickle",
                             "--record", str(tmp_path / "v.jsonl"), str(path)])
    assert code == 1 and marker.is_file()  # it ran; the dict it held is then refused
    assert "holds a" in capsys.readouterr().err


def test_resume_refuses_a_planted_last_ckpt(planted, tmp_path):
    """A full pickle put in a run directory as its last.ckpt is refused before anything is trained or
    written (a ganaudit checkpoint never needs unpickling)."""
    path, marker = planted
    cfg = compose(tiny_overrides(tmp_path, d_steps=2))
    ckpt_dir = run_dir(cfg) / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    (ckpt_dir / "last.ckpt").write_bytes(path.read_bytes())
    with pytest.raises(CheckpointError, match=f"{REFUSAL}.*arbitrary code.*trust_pickle"):
        train(cfg, datamodule=GANDataModule.from_arrays(tiny_images(), batch_size=4, seed=0))
    assert not marker.exists()
    assert sorted(p.name for p in run_dir(cfg).rglob("*")) == ["checkpoints", "last.ckpt"]  # nothing written


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("own")) / "checkpoints" / "last.ckpt"


def test_our_own_checkpoints_load_weights_only_without_opt_in(trained):
    """ganaudit's checkpoints need no trust: plain tensors, containers and numbers only."""
    ckpt = torch.load(trained, map_location="cpu", weights_only=True)
    assert ckpt["ganaudit"]["d_step"] == 2 and isinstance(ckpt["ganaudit"]["config"], dict)
    _, info = load_generator(trained)
    assert info["format"] == "lightning" and info["step"] == 2


@pytest.mark.parametrize("cli", [verdict_cli, explain_cli], ids=["verdict", "explain"])
def test_audit_commands_refuse_a_checkpoint_with_a_forged_hash(cli, trained, tmp_path, capsys):
    ckpt = torch.load(trained, map_location="cpu", weights_only=True)
    ckpt["ganaudit"]["config_hash"] = "0" * 16
    forged = tmp_path / "checkpoints" / "last.ckpt"
    forged.parent.mkdir()
    torch.save(ckpt, forged)
    assert cli.main(["--claim-fid", "3", "--root", str(tmp_path), str(forged)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: checkpoint '{forged}'") and "0" * 16 in err
