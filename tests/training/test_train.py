"""Full Lightning runs of ganaudit.training.train.train at tiny size: result record, checkpoints, resume,
divergence, the loop's schedule, and an independent bare-PyTorch reference of the study's loop."""

from __future__ import annotations

import copy
import json

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ganaudit.data.datamodule import GANDataModule, batch_indices
from ganaudit.training.config import compose
from ganaudit.training.train import train
from tests.training.conftest import tiny_images, tiny_overrides

pytestmark = pytest.mark.timeout(300)
CONTRACT_KEYS = {"status", "reason", "diverged_step", "d_steps", "seed", "config_hash", "config", "evals",
                 "fid_min", "fid_final", "wall_time_s", "run_dir", "code_version"}


def _dm(seed: int = 0, batch: int = 4) -> GANDataModule:
    return GANDataModule.from_arrays(tiny_images(24), batch_size=batch, seed=seed)


def _run(tmp_path, *extra, d_steps=3, seed=0, callbacks=()):
    cfg = compose(tiny_overrides(tmp_path, f"seed={seed}", *extra, d_steps=d_steps))
    return cfg, train(cfg, datamodule=_dm(seed), callbacks=callbacks)


def _ckpt(result, name="last.ckpt"):
    from pathlib import Path

    return torch.load(Path(result["run_dir"]) / "checkpoints" / name, weights_only=True, map_location="cpu")


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:  # tensors, or the plain numbers of an optimizer state (TF1Adam's step and beta powers)
        assert torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k], k


def test_train_writes_contract_result_and_d_step_checkpoints(tmp_path):
    cfg, res = _run(tmp_path, "optim.n_dis=2")
    assert CONTRACT_KEYS <= set(res)
    assert (res["status"], res["reason"], res["d_steps"], res["diverged_step"]) == ("ok", None, 3, None)
    assert res["run_dir"].endswith(f"{res['config_hash']}-s0")
    on_disk = json.loads((tmp_path / "runs" / f"{res['config_hash']}-s0" / "result.json").read_text())
    assert on_disk == json.loads(json.dumps(res, default=str))
    ck = _ckpt(res)  # weights_only=True must work
    assert ck["global_step"] == 3 and ck["ganaudit"]["d_step"] == 3  # global_step counts D steps
    names = sorted(p.name for p in (tmp_path / "runs" / f"{res['config_hash']}-s0" / "checkpoints").iterdir())
    assert names == ["dstep-0000001.ckpt", "dstep-0000002.ckpt", "dstep-0000003.ckpt", "last.ckpt"]
    # Adam states: D stepped 3 times, G at D steps 1 and 3 (n_dis = 2)
    steps = [int(next(iter(s["state"].values()))["step"]) for s in ck["optimizer_states"]]
    assert steps == [3, 2]
    assert res["config"]["optim"]["n_dis"] == 2 and res["evals"] == [] and res["fid_min"] is None


def test_rerunning_a_finished_run_returns_its_record(tmp_path):
    _, first = _run(tmp_path)
    _, again = _run(tmp_path)
    assert again["wall_time_s"] == first["wall_time_s"] and again["status"] == "ok"


def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
    extra = ("penalty=wgan_gp", "optim.n_dis=2", "norm=spectral")
    _, full = _run(tmp_path / "a", *extra, d_steps=5)
    _, part = _run(tmp_path / "b", *extra, "trainer.stop_at=2", d_steps=5)
    assert part["status"] == "failed" and part["d_steps"] == 2 and "resume" in part["reason"]
    _, rest = _run(tmp_path / "b", *extra, d_steps=5)
    assert rest["resumed_from"].endswith("last.ckpt") and rest["status"] == "ok" and rest["d_steps"] == 5
    a, b = _ckpt(full), _ckpt(rest)
    _assert_same_state(a["state_dict"], b["state_dict"])  # weights + BN stats + SN u vectors
    for sa, sb in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for pid in sa["state"]:
            _assert_same_state(sa["state"][pid], sb["state"][pid])
    _assert_same_state({"t": a["ganaudit"]["rng"]["torch"]}, {"t": b["ganaudit"]["rng"]["torch"]})
    # and resuming is not a no-op: the interrupted state differs from the final one
    mid = _ckpt(part, "dstep-0000002.ckpt")["state_dict"]
    assert not all(torch.equal(mid[k], a["state_dict"][k]) for k in mid)


def test_same_seed_identical_different_seed_differs(tmp_path):
    _, r1 = _run(tmp_path / "1", "penalty=dragan")
    _, r2 = _run(tmp_path / "2", "penalty=dragan")
    _, r3 = _run(tmp_path / "3", "penalty=dragan", seed=1)
    _assert_same_state(_ckpt(r1)["state_dict"], _ckpt(r2)["state_dict"])
    s1, s3 = _ckpt(r1)["state_dict"], _ckpt(r3)["state_dict"]
    assert any(not torch.equal(s1[k], s3[k]) for k in s1 if k.endswith("weight"))


class _PoisonBatch(pl.Callback):
    """Replace the real batch with NaN at D step ``at`` (1-based): the D loss becomes NaN there."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step + 1 == self.at:
            batch.fill_(float("nan"))


class _PoisonWeights(pl.Callback):
    """Set one D weight to inf right after D step ``at``: the weights are no longer a good state."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.at:
            with torch.no_grad():
                next(pl_module.discriminator.parameters()).view(-1)[0] = float("inf")


def test_nan_loss_marks_diverged_and_keeps_last_good_checkpoint(tmp_path):
    _, res = _run(tmp_path, callbacks=[_PoisonBatch(at=3)], d_steps=5)
    assert (res["status"], res["diverged_step"], res["d_steps"]) == ("diverged", 3, 2)
    assert "non-finite D loss" in res["reason"] and "3" in res["reason"]
    ck = _ckpt(res)
    assert ck["ganaudit"]["d_step"] == 2
    assert all(torch.isfinite(v).all() for v in ck["state_dict"].values() if v.is_floating_point())
    ckdir = tmp_path / "runs" / f"{res['config_hash']}-s0" / "checkpoints"
    assert not (ckdir / "dstep-0000003.ckpt").exists()


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    _, res = _run(tmp_path, callbacks=[_PoisonWeights(at=2)], d_steps=5)
    assert res["status"] == "diverged" and res["diverged_step"] == 2 and "weights" in res["reason"]
    assert _ckpt(res)["ganaudit"]["d_step"] == 1


class _RecordZ(pl.Callback):
    """Record every latent batch fed to G, and the initial state + RNG for the reference loop."""

    def __init__(self) -> None:
        self.z: list[torch.Tensor] = []

    def on_train_start(self, trainer, pl_module):
        self.g0 = copy.deepcopy(pl_module.generator)
        self.d0 = copy.deepcopy(pl_module.discriminator)
        self.rng = torch.get_rng_state()
        pl_module.generator.register_forward_pre_hook(lambda m, args: self.z.append(args[0].detach().clone()))


def test_g_step_schedule_and_same_z(tmp_path):
    rec = _RecordZ()
    _run(tmp_path, "optim.n_dis=2", callbacks=[rec], d_steps=3)
    # D step 1: fake + G step (2 calls, same z); D step 2: fake only; D step 3: fake + G step
    assert len(rec.z) == 5
    assert torch.equal(rec.z[0], rec.z[1]) and torch.equal(rec.z[3], rec.z[4])
    assert not torch.equal(rec.z[0], rec.z[2]) and not torch.equal(rec.z[2], rec.z[3])
    assert all(z.min() >= -1 and z.max() <= 1 and z.shape == (4, 128) for z in rec.z)


def _reference_gp(D, real, fake):
    """WGAN-GP from spec §2.1, written independently of ganaudit.axes.penalties."""
    alpha = torch.rand(real.shape[0], 1, 1, 1)
    x = (real + alpha * (fake - real)).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return ((torch.sqrt(1e-4 + g.pow(2).sum(dim=(1, 2, 3))) - 1) ** 2).mean()


@pytest.mark.parametrize("impl", ["tf1", "torch"])
def test_lightning_loop_equals_bare_pytorch_reference(tmp_path, impl):
    """Spec §5.1 loop written directly in PyTorch gives bit-identical weights after 4 D steps, with
    the study's TF1 Adam (the default; checked against numpy in test_optim) and with torch's Adam."""
    from ganaudit.axes.optim import TF1Adam

    rec = _RecordZ()
    lam, lr, n_dis, steps = 10.0, 2e-4, 3, 4
    cfg, res = _run(tmp_path, "penalty=wgan_gp", f"penalty.weight={lam}", f"optim.n_dis={n_dis}",
                    "optim.beta2=0.9", f"optim.impl={impl}", callbacks=[rec], d_steps=steps)
    G, D = rec.g0, rec.d0
    G.train(), D.train()
    adam = TF1Adam if impl == "tf1" else torch.optim.Adam
    opt_d = adam(D.parameters(), lr=lr, betas=(0.5, 0.9), eps=1e-8)
    opt_g = adam(G.parameters(), lr=lr, betas=(0.5, 0.9), eps=1e-8)
    images = torch.from_numpy(tiny_images(24)).permute(0, 3, 1, 2).contiguous().float() / 255  # NCHW layout
    torch.set_rng_state(rec.rng)
    for step in range(1, steps + 1):
        real = images[torch.from_numpy(batch_indices(step - 1, 24, 4, 0))]
        z = torch.rand(4, 128) * 2 - 1
        with torch.no_grad():
            fake = G(z)
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean() + lam * _reference_gp(D, real, fake)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if (step - 1) % n_dis == 0:  # same z; D frozen so only G gets gradients
            D.requires_grad_(False)
            g_loss = F.softplus(-D(G(z))).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            D.requires_grad_(True)
    got = _ckpt(res)["state_dict"]
    want = {f"generator.{k}": v for k, v in G.state_dict().items()}
    want |= {f"discriminator.{k}": v for k, v in D.state_dict().items()}
    _assert_same_state(got, want)


def test_evaluation_every_k_d_steps_is_recorded_and_leaves_training_unchanged(tmp_path):
    calls = []

    def fake_evaluate(generator, *, dataset, protocol, data_dir, artifacts_dir, record_path, context):
        calls.append(dict(context))
        torch.manual_seed(42)  # an evaluator that reseeds the global RNG must not change training
        torch.rand(100)
        step = context["step"]
        fid = {0: 100.0, 2: 90.0, 3: 95.0}[step]  # not monotone: the minimum is not the final value
        return {"fid": fid, "is": 1.0 + step, "kid": 0.1, "provenance": {"protocol": protocol}}

    base = tiny_overrides(tmp_path / "e", "seed=0", d_steps=3)
    cfg = compose([*base, "eval.enabled=true", "eval.every=2", "eval.protocol=fake"])
    res = train(cfg, datamodule=_dm(0), evaluate_fn=fake_evaluate)
    assert [c["step"] for c in calls] == [0, 2, 3]
    assert {c["config_hash"] for c in calls} == {res["config_hash"]} and calls[0]["seed"] == 0
    assert [e["step"] for e in res["evals"]] == [0, 2, 3]
    assert (res["fid_min"], res["fid_min_step"]) == (90.0, 2)      # what the study's optimizer saw
    assert (res["fid_final"], res["fid_final_step"]) == (95.0, 3)
    assert res["evals"][1]["provenance"] == {"protocol": "fake"} and res["evals"][1]["is"] == 3.0
    _, plain = _run(tmp_path / "p", d_steps=3)
    _assert_same_state(_ckpt(res)["state_dict"], _ckpt(plain)["state_dict"])


def test_result_records_the_gpu_precision_flags(tmp_path):
    """The run's arithmetic is in result.json (``numerics``) and in its config (hashed)."""
    cfg, res = _run(tmp_path, d_steps=1)
    assert res["numerics"] == {"precision": "32-true", "cuda_matmul_allow_tf32": False, "cudnn_allow_tf32": False,
                               "float32_matmul_precision": "highest"}
    assert res["config"]["trainer"]["precision"] == "32-true" and res["config"]["data_seed"] == 547
    _, tf = _run(tmp_path / "t", "trainer.precision=tf32", d_steps=1)
    assert tf["numerics"]["cudnn_allow_tf32"] is True and tf["config_hash"] != res["config_hash"]


def test_every_evaluation_writes_a_sample_grid_of_the_evaluated_generator(tmp_path):
    import numpy as np
    from hydra.utils import instantiate
    from PIL import Image

    from ganaudit.metrics.grids import grid_latents, step_grid_path

    def fake_evaluate(generator, *, context, **_):
        return {"fid": 100.0 - context["step"], "provenance": {}}

    cfg = compose([*tiny_overrides(tmp_path, "seed=0", d_steps=3), "eval.enabled=true", "eval.every=2"])
    res = train(cfg, datamodule=_dm(0), evaluate_fn=fake_evaluate)
    grids = sorted(p.name for p in (tmp_path / "runs").glob("*/samples/*.png"))
    assert grids == ["step_000000.png", "step_000002.png", "step_000003.png"]
    png = np.asarray(Image.open(step_grid_path(res["run_dir"], 3)))
    assert png.shape == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2, 3)
    # the final grid = the final G (last checkpoint) in eval mode on the protocol's first 64 latents
    g = instantiate(cfg.lightning.module).generator
    g.load_state_dict({k[len("generator."):]: v for k, v in _ckpt(res)["state_dict"].items()
                       if k.startswith("generator.")})
    with torch.no_grad():
        ref = g.eval()(grid_latents(42, int(cfg.arch.z_dim))).numpy()
    ref = np.round(np.clip(ref, 0, 1) * np.float32(255)).astype(np.uint8).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(png[2:34, 2:34], ref[0])
    np.testing.assert_array_equal(png[2 + 7 * 34 : 2 + 7 * 34 + 32, 2 + 7 * 34 : 2 + 7 * 34 + 32], ref[63])
    first = np.asarray(Image.open(step_grid_path(res["run_dir"], 0)))
    assert not np.array_equal(first, png)  # training changed G, and the grid shows it
