"""The reviewer's path: a training run's checkpoint in, the FID training recorded out (digits, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import ganaudit.cli.evaluate as ev_cli
from ganaudit.data.datamodule import GANDataModule
from ganaudit.metrics.checkpoints import load_generator
from ganaudit.training.config import compose
from ganaudit.training.train import train

pytestmark = pytest.mark.timeout(300)


def smoke_run(root: Path, weights: Path, images, seed: int = 1, *overrides: str) -> dict:
    """A `trainer=smoke arch.width=0.0625` digits run (20 D steps, evaluated at 0, 10, 20)."""
    cfg = compose([f"paths.root={root}", "trainer=smoke", "arch.width=0.0625", f"seed={seed}",
                   "trainer.progress_bar=false", "trainer.accelerator=cpu", "eval.enabled=true",
                   "eval.every=10", "eval.protocol=digits_cnn", f"eval.artifacts_dir={weights.parent}", *overrides])
    return train(cfg, datamodule=GANDataModule.from_arrays(images, batch_size=16, seed=seed))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run shared by this module: (tmp dir, weights dir, result); the digits CNN pin lifted
    and ``open_split`` serving a 500-image digits-like split (as the fixtures of conftest.py)."""
    from sklearn.datasets import load_digits

    import ganaudit.data
    from ganaudit.data.digits import render_digits
    from ganaudit.metrics import digits_cnn

    from .conftest import FakeView, digit_like_images

    root = tmp_path_factory.mktemp("smoke")
    d = load_digits()  # the digits CNN as in conftest.digits_weights (1 epoch, 600 images)
    net = digits_cnn.train_classifier(render_digits(d.images[:600]), d.target[:600], seed=0, epochs=1)
    weights = root / "artifacts" / "weights"
    digits_cnn.save_weights(net, weights / "digits_cnn.pt", {"test": True})
    view = FakeView(digit_like_images(500, seed=1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # for the whole module: training and re-evaluation use the same kernels
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(digits_cnn, "DIGITS_WEIGHTS",
                   digits_cnn.DIGITS_WEIGHTS.__class__(**{**digits_cnn.DIGITS_WEIGHTS.__dict__, "sha256": None}))
        mp.setattr(ganaudit.data, "open_split", lambda name, split, data_dir: view)
        result = smoke_run(root, weights, view.images)
        assert result["status"] == "ok", result["reason"]
        yield root, weights, result, view
    torch.set_num_threads(threads)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = ev_cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_run_checkpoint_evaluates_to_the_fid_training_recorded(tmp_path, smoke, capsys):
    _, digits_weights, result, _ = smoke
    recorded = {e["step"]: e for e in result["evals"]}
    assert sorted(recorded) == [0, 10, 20] and recorded[10]["fid"] != recorded[20]["fid"]  # not vacuous
    ckpts = Path(result["run_dir"]) / "checkpoints"
    record = tmp_path / "rev.jsonl"
    for name, step in [("dstep-0000010.ckpt", 10), ("last.ckpt", 20)]:
        # no dataset= and no protocol=: the checkpoint names its dataset, 'auto' picks digits_cnn
        rc, out, err = cli(capsys, f"samples={ckpts / name}", f"artifacts={digits_weights.parent}", f"record={record}")
        assert rc == 0, err
        got = json.loads(out)
        assert (got["fid"], got["is"], got["kid"]) == tuple(recorded[step][k] for k in ("fid", "is", "kid"))
        prov = got["provenance"]
        assert (prov["step"], prov["seed"], prov["config_hash"], prov["run_id"]) == \
            (step, 1, result["config_hash"], Path(result["run_dir"]).name)


def test_a_fixed_order_run_re_evaluates_with_its_own_kernels(tmp_path, smoke, capsys):
    """arch.conv_kernels=fixed_order: another config hash (aten's is the hash from before the option), a G
    rebuilt from the checkpoint with the fixed-order kernels, and the FID training recorded."""
    root, digits_weights, aten, view = smoke
    result = smoke_run(root, digits_weights, view.images, 1, "arch.conv_kernels=fixed_order")
    assert result["status"] == "ok", result["reason"]
    assert result["config_hash"] != aten["config_hash"]
    fids = {e["step"]: e["fid"] for e in result["evals"]}
    assert fids[20] != {e["step"]: e["fid"] for e in aten["evals"]}[20]  # other kernels, other bits
    last = Path(result["run_dir"]) / "checkpoints" / "last.ckpt"
    gen, info = load_generator(last)
    convs = [m for m in gen.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert convs and {m.conv_kernels for m in convs} == {"fixed_order"}
    rc, out, err = cli(capsys, f"samples={last}", f"artifacts={digits_weights.parent}")
    assert rc == 0, err
    assert json.loads(out)["fid"] == fids[20]


def test_checkpoint_carries_what_rebuilds_the_run(tmp_path, smoke, capsys):
    _, digits_weights, result, _ = smoke
    run = Path(result["run_dir"])
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    extra, hp = ckpt["ganaudit"], ckpt["hyper_parameters"]
    assert (extra["config_hash"], extra["seed"], extra["d_step"]) == (result["config_hash"], 1, 20)
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


def test_checkpoint_refuses_another_dataset_and_foreign_files(tmp_path, smoke, capsys):
    _, digits_weights, result, _ = smoke
    last = Path(result["run_dir"]) / "checkpoints" / "last.ckpt"
    rc, _, err = cli(capsys, f"samples={last}", "dataset=cifar10", f"artifacts={digits_weights.parent}")
    assert rc == 2 and "trained on 'digits'" in err and err.count("\n") == 1
    torch.save({"epoch": 3, "note": "not a generator"}, tmp_path / "x.ckpt")
    rc, _, err = cli(capsys, f"samples={tmp_path / 'x.ckpt'}", "dataset=digits", f"artifacts={digits_weights.parent}")
    assert rc == 1 and "no known layout" in err and "x.ckpt" in err  # bad input data: a failure (CONTRACTS §6)
    rc, _, err = cli(capsys, f"samples={tmp_path / 'none.ckpt'}", "dataset=digits")
    assert rc == 1 and "no such file" in err


def test_verdict_from_run_checkpoints(tmp_path, smoke, capsys):
    from ganaudit.cli.verdict import main as verdict

    root, weights, result, _ = smoke
    last = Path(result["run_dir"]) / "checkpoints" / "last.ckpt"
    run = Path(result["run_dir"])
    common = ["--artifacts", str(weights.parent), "--record", str(tmp_path / "v.jsonl"), "--json", "--min-seeds", "1"]
    # a checkpoint is evaluated; one seed's CI is [fid, fid], so the claim equal to it is reproduced
    fid = result["evals"][-1]["fid"]
    assert verdict(["--claim-fid", repr(fid), str(last), *common]) == 0
    got = json.loads(capsys.readouterr().out)
    seed = got["seeds"][0]
    assert (got["verdict"], got["median"], seed["score"], seed["seed"]) == ("reproduced", fid, fid, 1)
    # a run directory gives its fid_min (no evaluation); higher claims are beaten, lower ones not met
    best = min(e["fid"] for e in result["evals"])
    for claim, expected in [(best, "reproduced"), (best + 1.0, "better"), (best - 1.0, "worse")]:
        assert verdict(["--claim-fid", repr(claim), str(run), *common]) == 0
        got = json.loads(capsys.readouterr().out)
        seed = got["seeds"][0]
        assert (got["verdict"], seed["score"], seed["step"]) == (expected, best, result["fid_min_step"])
    assert verdict(["--claim-fid", "1", str(run), *common[:-2]]) == 0  # default: 3 seeds needed
    assert json.loads(capsys.readouterr().out)["verdict"] == "too few seeds"
    # a published CIFAR10 row is refused for a digits smoke run, naming what differs
    assert verdict(["--row", "hub13", str(last), *common]) == 2
    err = capsys.readouterr().err
    assert "row hub13" in err and "dataset: ours 'digits', row 'cifar10'" in err and err.count("\n") == 1
    assert verdict(["--row", "hub13", str(run), *common]) == 2
    # the same run twice is one seed, not two
    assert verdict(["--claim-fid", "1", str(run), str(run), *common]) == 2
    assert "are the same seed (same run directory)" in capsys.readouterr().err


def test_checkpoint_evaluated_under_another_configuration_is_refused(tmp_path, smoke, capsys):
    """config= beside a run checkpoint must be that run's configuration: its own passes, another is refused."""
    import yaml

    _, digits_weights, result, _ = smoke
    run = Path(result["run_dir"])
    last = run / "checkpoints" / "last.ckpt"
    common = (f"artifacts={digits_weights.parent}", f"record={tmp_path / 'r.jsonl'}")
    rc, out, err = cli(capsys, f"samples={last}", f"config={run / 'config.yaml'}", *common)
    assert rc == 0, err
    assert json.loads(out)["fid"] == result["evals"][-1]["fid"]
    other = yaml.safe_load((run / "config.yaml").read_text())
    other["loss"]["name"] = "wgan" if other["loss"]["name"] != "wgan" else "ns"
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    rc, _, err = cli(capsys, f"samples={last}", f"config={tmp_path / 'other.yaml'}", *common)
    assert rc == 2 and result["config_hash"] in err and "trained under configuration" in err, err
    assert err.count("\n") == 1
