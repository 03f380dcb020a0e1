"""The reviewer's path: a training run's checkpoint in, the FID training recorded out (digits, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import ganaudit.evaluate as ev
from ganaudit.checkpoints import load_generator
from ganaudit.config import compose
from ganaudit.data.datamodule import GANDataModule
from ganaudit.train import train

pytestmark = pytest.mark.timeout(300)


def smoke_run(tmp_path: Path, weights: Path, images, seed: int = 1) -> dict:
    """A `trainer=smoke arch.width=0.0625` digits run (20 D steps, evaluated at 0, 10, 20)."""
    cfg = compose([f"paths.root={tmp_path}", "trainer=smoke", "arch.width=0.0625", f"seed={seed}",
                   "trainer.progress_bar=false", "trainer.accelerator=cpu", "eval.enabled=true",
                   "eval.every=10", "eval.protocol=digits_cnn", f"eval.artifacts_dir={weights.parent}"])
    return train(cfg, datamodule=GANDataModule.from_arrays(images, batch_size=16, seed=seed))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = ev.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_run_checkpoint_evaluates_to_the_fid_training_recorded(tmp_path, digits_weights, digits_view, capsys):
    result = smoke_run(tmp_path, digits_weights, digits_view.images)
    assert result["status"] == "ok", result["reason"]
    recorded = {e["step"]: e for e in result["evals"]}
    assert sorted(recorded) == [0, 10, 20] and recorded[10]["fid"] != recorded[20]["fid"]  # not vacuous
    ckpts = Path(result["run_dir"]) / "checkpoints"
    record = tmp_path / "rev.jsonl"
    for name, step in [("dstep-0000010.ckpt", 10), ("dstep-0000020.ckpt", 20), ("last.ckpt", 20)]:
        # no dataset= and no protocol=: the checkpoint names its dataset, 'auto' picks digits_cnn
        rc, out, err = cli(capsys, f"samples={ckpts / name}", f"artifacts={digits_weights.parent}", f"record={record}")
        assert rc == 0, err
        got = json.loads(out)
        assert (got["fid"], got["is"], got["kid"]) == tuple(recorded[step][k] for k in ("fid", "is", "kid"))
        prov = got["provenance"]
        assert (prov["step"], prov["seed"], prov["config_hash"], prov["run_id"]) == \
            (step, 1, result["config_hash"], Path(result["run_dir"]).name)


def test_checkpoint_carries_what_rebuilds_the_run(tmp_path, digits_weights, digits_view, capsys):
    result = smoke_run(tmp_path, digits_weights, digits_view.images, seed=2)
    run = Path(result["run_dir"])
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    extra, hp = ckpt["ganaudit"], ckpt["hyper_parameters"]
    assert (extra["config_hash"], extra["seed"], extra["d_step"]) == (result["config_hash"], 2, 20)
    assert extra["config"] == result["config"]
    assert (hp["arch"], hp["width"], hp["z_dim"], hp["resolution"], hp["loss"]) == ("sndcgan", 0.0625, 128, 32, "ns")

    gen, info = load_generator(run / "checkpoints" / "last.ckpt")
    assert not gen.training and info["dataset"] == "digits" and info["step"] == 20
    z = torch.rand(4, 128) * 2 - 1
    state = {k[len("generator."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    torch.save(state, tmp_path / "g.pt")
    same, _ = load_generator(tmp_path / "g.pt", config=run / "config.yaml")
    with torch.no_grad():
        assert torch.equal(gen(z), same(z))

    # a bare state_dict needs its config; then it scores exactly like the Lightning checkpoint
    common = (f"artifacts={digits_weights.parent}", f"record={tmp_path / 'r.jsonl'}")
    rc, _, err = cli(capsys, f"samples={tmp_path / 'g.pt'}", "dataset=digits", *common)
    assert rc == 2 and "config=<run>/config.yaml" in err
    rc, out, err = cli(capsys, f"samples={tmp_path / 'g.pt'}", f"config={run / 'config.yaml'}", *common)
    assert rc == 0, err
    assert json.loads(out)["fid"] == result["evals"][-1]["fid"]
    # a traced (TorchScript) export of the same generator
    torch.jit.trace(gen, z).save(str(tmp_path / "g.ts"))
    rc, out, err = cli(capsys, f"samples={tmp_path / 'g.ts'}", "dataset=digits", *common)
    assert rc == 0, err
    assert json.loads(out)["fid"] == pytest.approx(result["evals"][-1]["fid"], rel=1e-5)


def test_checkpoint_refuses_another_dataset_and_foreign_files(tmp_path, digits_weights, digits_view, capsys):
    result = smoke_run(tmp_path, digits_weights, digits_view.images[:64], seed=3)
    last = Path(result["run_dir"]) / "checkpoints" / "last.ckpt"
    rc, _, err = cli(capsys, f"samples={last}", "dataset=cifar10", f"artifacts={digits_weights.parent}")
    assert rc == 2 and "trained on 'digits'" in err and err.count("\n") == 1
    torch.save({"epoch": 3, "note": "not a generator"}, tmp_path / "x.ckpt")
    rc, _, err = cli(capsys, f"samples={tmp_path / 'x.ckpt'}", "dataset=digits", f"artifacts={digits_weights.parent}")
    assert rc == 2 and "no known layout" in err and "x.ckpt" in err
    rc, _, err = cli(capsys, f"samples={tmp_path / 'none.ckpt'}", "dataset=digits")
    assert rc == 2 and "no such file" in err
