"""Lightning loggers and callbacks as configuration: evaluation metrics reach the logger, a resumed run
continues its one log, Hydra's run directory is the run directory, and none of it changes config_hash."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
from omegaconf import OmegaConf

from ganaudit.data.datamodule import GANDataModule
from ganaudit.training.config import compose, config_hash, run_dir
from ganaudit.training.lit.loggers import eval_metrics
from ganaudit.training.train import train
from tests.training.conftest import tiny_images, tiny_overrides

pytestmark = pytest.mark.timeout(300)
FIDS = {0: 100.0, 2: 90.0, 3: 95.0, 4: 80.0}


def _fake_evaluate(generator, *, dataset, protocol, data_dir, artifacts_dir, record_path, context):
    step = context["step"]
    return {"fid": FIDS[step], "is": 1.0 + step, "kid": None, "provenance": {"protocol": protocol}}


def _run(root: Path, *extra: str, d_steps: int = 3) -> dict:
    cfg = compose(tiny_overrides(root, "seed=0", "eval.enabled=true", "eval.every=2", "eval.protocol=fake",
                                 *extra, d_steps=d_steps))
    dm = GANDataModule.from_arrays(tiny_images(24), batch_size=4, seed=0)
    return train(cfg, datamodule=dm, evaluate_fn=_fake_evaluate)


def _rows(result: dict) -> list[dict]:
    path = Path(result["run_dir"]) / "logs" / "version_0" / "metrics.csv"
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_eval_metrics_keep_finite_numbers_only():
    got = eval_metrics({"fid": 12.5, "is": None, "kid": float("nan"), "ms_ssim": 0.3, "step": 4})
    assert got == {"eval/fid": 12.5, "eval/ms_ssim": 0.3}


def test_fid_and_is_reach_the_csv_log_at_their_d_step(tmp_path):
    res = _run(tmp_path)
    rows = _rows(res)
    evals = {int(r["step"]): (float(r["eval/fid"]), float(r["eval/is"])) for r in rows if r["eval/fid"]}
    assert evals == {0: (100.0, 1.0), 2: (90.0, 3.0), 3: (95.0, 4.0)}
    assert "eval/kid" not in rows[0]  # None (not computed by the protocol) is not logged
    losses = [r for r in rows if r.get("loss/d")]
    assert [int(float(r["d_step"])) for r in losses] == [1, 2, 3]            # log_every=1
    assert all(int(r["step"]) == int(float(r["d_step"])) for r in losses)   # logger step = D step
    assert sorted(p.name for p in (Path(res["run_dir"]) / "logs").iterdir()) == ["version_0"]


def test_a_resumed_run_continues_the_same_log(tmp_path):
    whole = _rows(_run(tmp_path / "whole", d_steps=4))
    first = _rows(_run(tmp_path / "split", "trainer.stop_at=2", d_steps=4))  # preempted at an eval step
    assert max(int(r["step"]) for r in first) == 2
    resumed = _run(tmp_path / "split", d_steps=4)
    assert sorted(p.name for p in (Path(resumed["run_dir"]) / "logs").iterdir()) == ["version_0"]
    assert _rows(resumed) == whole  # same rows, same values: no duplicated or lost D step


def test_a_checkpoint_is_written_only_once_the_log_holds_its_d_step(tmp_path, monkeypatch):
    """A process killed right after checkpoint N is written must leave step N's row in the log: the
    resumed run logs from step N+1 on and could never write it again."""
    seen, save = [], pl.Trainer.save_checkpoint

    def spy(trainer, filepath, *args, **kwargs):
        log = Path(filepath).parents[1] / "logs" / "version_0" / "metrics.csv"
        with open(log, newline="") as fh:
            logged = {int(r["step"]) for r in csv.DictReader(fh) if r.get("loss/d")}
        seen.append((Path(filepath).name, trainer.global_step, logged))
        return save(trainer, filepath, *args, **kwargs)

    monkeypatch.setattr(pl.Trainer, "save_checkpoint", spy)
    res = _run(tmp_path, d_steps=3)
    assert [(name, step) for name, step, _ in seen] == [
        (f"{name}.ckpt", step) for step in (1, 2, 3) for name in (f"dstep-{step:07d}", "last")]
    assert all(logged == set(range(1, step + 1)) for _, step, logged in seen), seen
    rows = _rows(res)  # each row once; a step's evaluation before its losses, the final one at the end
    assert [(r["step"], bool(r["eval/fid"])) for r in rows] == [
        ("0", True), ("1", False), ("2", True), ("2", False), ("3", False), ("3", True)]


def test_a_rerun_after_the_last_checkpoint_drops_the_rows_it_logs_again(tmp_path):
    from ganaudit.training.lit.loggers import RunCSVLogger

    log = RunCSVLogger(tmp_path)
    for step in (1, 2, 3):
        log.log_metrics({"loss/d": float(step)}, step=step)
    log.save()
    again = RunCSVLogger(tmp_path)  # the process restarted from a checkpoint at step 1
    again.log_metrics({"loss/d": 20.0}, step=2)
    again.save()
    with open(tmp_path / "logs" / "version_0" / "metrics.csv", newline="") as fh:
        rows = [(r["step"], r["loss/d"]) for r in csv.DictReader(fh)]
    assert rows == [("1", "1.0"), ("2", "20.0")]


def test_logger_tensorboard_records_what_the_csv_log_records(tmp_path):
    """tensorboard is in the `test` extra, so this runs wherever the README's test command does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    res = _run(tmp_path, "logger=tensorboard")
    acc = EventAccumulator(str(Path(res["run_dir"]) / "tensorboard" / "version_0"))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("eval/fid")] == [(0, 100.0), (2, 90.0), (3, 95.0)]
    assert [(e.step, e.value) for e in acc.Scalars("eval/is")] == [(0, 1.0), (2, 3.0), (3, 4.0)]
    assert "eval/kid" not in acc.Tags()["scalars"]  # None (not computed by the protocol) is not logged
    csv_losses = {int(r["step"]): float(r["loss/d"]) for r in _rows(res) if r.get("loss/d")}
    tb_losses = {e.step: e.value for e in acc.Scalars("loss/d")}
    assert sorted(tb_losses) == sorted(csv_losses) == [1, 2, 3]  # one point per D step, at the D step
    for step, value in csv_losses.items():  # the event file holds float32
        assert tb_losses[step] == pytest.approx(value, rel=1e-6, abs=1e-7), step


class Marker(pl.Callback):
    """A callback added from the command line (``+callbacks.marker._target_=...``)."""

    started = 0

    def on_train_start(self, trainer, pl_module):
        Marker.started += 1


def test_logger_none_and_extra_callbacks_are_configuration(tmp_path):
    res = _run(tmp_path, "logger=none", "+callbacks.marker._target_=tests.training.test_loggers.Marker")
    assert not (Path(res["run_dir"]) / "logs").exists()
    assert res["status"] == "ok" and Marker.started == 1
    assert [e["step"] for e in res["evals"]] == [0, 2, 3]  # evaluation does not need a logger


def test_ui_groups_do_not_change_the_config_hash(tmp_path):
    base = compose(tiny_overrides(tmp_path))
    other = compose(tiny_overrides(tmp_path, "logger=tensorboard", "~callbacks.eval",
                                   "+callbacks.x._target_=builtins.dict"))
    assert config_hash(base) == config_hash(other)


def test_hydra_run_dir_is_the_run_dir(tmp_path, monkeypatch):
    """``python -m ganaudit.train``: Hydra's .hydra/ lands in <paths.runs>/<config_hash>-s<seed>."""
    from hydra.core.hydra_config import HydraConfig

    import ganaudit.cli.train as entry

    seen = {}

    def fake_train(cfg):
        seen["output_dir"], seen["run_dir"] = HydraConfig.get().runtime.output_dir, str(run_dir(cfg))
        return {"status": "ok"}

    monkeypatch.setattr(entry, "train", fake_train)
    monkeypatch.setattr(sys, "argv", ["ganaudit.training.train", f"paths.root={tmp_path}", "seed=5", "loss=ls"])
    entry.main()
    assert seen["output_dir"] == seen["run_dir"] and seen["run_dir"].endswith("-s5")
    saved = OmegaConf.load(Path(seen["run_dir"]) / ".hydra" / "config.yaml")
    assert config_hash(saved) == Path(seen["run_dir"]).name.split("-s")[0]


def _log_sequence(logger) -> None:
    """Hyperparameters, then rows whose keys grow (the header is rewritten) with saves in between."""
    import torch

    logger.log_hyperparams({"lr": 0.0002, "arch": "sndcgan"})
    logger.log_metrics({"loss/d": torch.tensor(0.5), "d_step": 1.0}, step=1)
    logger.save()
    logger.log_metrics({"loss/d": 0.25, "loss/g": 1.5, "d_step": 2.0}, step=2)
    logger.log_metrics({"eval/fid": 80.0, "d_step": 2.0}, step=2)
    logger.save()
    logger.log_metrics({"loss/d": 0.125, "d_step": 3.0}, step=3)
    logger.finalize("success")


def test_run_csv_logger_writes_what_lightnings_csv_logger_writes(tmp_path):
    """Reference: Lightning's own CSVLogger, on a fresh directory, given the same calls."""
    from pytorch_lightning.loggers import CSVLogger

    from ganaudit.training.lit.loggers import RunCSVLogger

    ours, ref = RunCSVLogger(tmp_path / "ours"), CSVLogger(tmp_path / "ref", name="logs", version=0)
    _log_sequence(ours)
    _log_sequence(ref)
    assert ours.log_dir == str(tmp_path / "ours" / "logs" / "version_0")
    for name in ("metrics.csv", "hparams.yaml"):
        mine = (Path(ours.log_dir) / name).read_text()
        assert mine == (Path(ref.log_dir) / name).read_text(), name
    header, *rows = (Path(ours.log_dir) / "metrics.csv").read_text().splitlines()
    assert header == "d_step,eval/fid,loss/d,loss/g,step" and len(rows) == 4   # sorted union of the keys
    assert rows[0] == "1.0,,0.5,,1"                                          # the tensor as its number


def test_run_csv_logger_prefix_and_a_resume_with_new_columns(tmp_path):
    from ganaudit.training.lit.loggers import RunCSVLogger

    first = RunCSVLogger(tmp_path, prefix="train")
    first.log_metrics({"loss": 1.0}, step=1)
    first.log_metrics({"loss": 2.0}, step=2)
    first.save()
    again = RunCSVLogger(tmp_path, prefix="train")     # restarted from step 2: the step-2 row goes
    again.log_metrics({"loss": 3.0, "fid": 9.0}, step=2)
    again.save()
    with open(tmp_path / "logs" / "version_0" / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"step": "1", "train-fid": "", "train-loss": "1.0"},
                    {"step": "2", "train-fid": "9.0", "train-loss": "3.0"}]


def test_keep_last_leaves_only_last_ckpt(tmp_path):
    import torch

    res = _run(tmp_path, "callbacks.d_step_checkpoint.keep=last", d_steps=3)
    ckdir = Path(res["run_dir"]) / "checkpoints"
    assert sorted(p.name for p in ckdir.iterdir()) == ["last.ckpt"]
    assert torch.load(ckdir / "last.ckpt", map_location="cpu", weights_only=False)["global_step"] == 3


def test_d_step_checkpoint_is_the_trainers_checkpoint_callback(tmp_path):
    """A Checkpoint: Lightning adds no default ModelCheckpoint and runs it after the other callbacks."""
    from ganaudit.training.lit.callbacks import DStepCheckpoint

    ckpt, other = DStepCheckpoint(tmp_path, every=2), Marker()
    trainer = pl.Trainer(callbacks=[ckpt, other], logger=False, default_root_dir=str(tmp_path),
                         enable_progress_bar=False, enable_model_summary=False)
    assert trainer.checkpoint_callbacks == [ckpt]
    assert trainer.callbacks.index(ckpt) > trainer.callbacks.index(other)


@pytest.mark.parametrize("kwargs, message", [({"every": 0}, "every must be >= 1"),
                                             ({"every": 5, "keep": "best"}, "keep must be 'all' or 'last'")])
def test_d_step_checkpoint_refuses_bad_arguments(tmp_path, kwargs, message):
    from ganaudit.training.lit.callbacks import DStepCheckpoint

    with pytest.raises(ValueError, match=message):
        DStepCheckpoint(tmp_path, **kwargs)
