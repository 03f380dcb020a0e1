"""`python -m ganaudit.study` checks data, extractor weights, reference statistics and its results
directory for every dataset it needs before it plans or launches anything (exit 1, one line)."""

from __future__ import annotations

import logging

import pytest

from ganaudit.study.launch import InlineLauncher
from ganaudit.study.preflight import preflight_study
from ganaudit.study.run import run_from_config
from ganaudit.study.spec import StudySpec
from ganaudit.training.config import compose
from ganaudit.utils.exits import run_cli

TWO = ["study.configurations.axes.loss=[ns]", "study.configurations.axes.norm=[none]", "study.seeds=[0]",
       "study.hparams.fixed=[{lr:0.0002,beta1:0.5,beta2:0.999,n_dis:1}]"]


@pytest.fixture(scope="module")
def digits_store(tmp_path_factory):
    from ganaudit.data.prepare import prepare

    out = tmp_path_factory.mktemp("store") / "digits"
    prepare("digits", None, out, splits_dir=out.parent / "splits", shard_size=512, progress=False)
    return out


def link_store(root, store):
    (root / "data" / "prepared").mkdir(parents=True)
    (root / "data" / "prepared" / "digits").symlink_to(store)


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("GANAUDIT_ROOT", str(tmp_path))
    return tmp_path


def study(root, capsys, *extra):
    cfg = compose(["study=demo", *TWO, *extra], config_name="run_study")
    code = run_cli(run_from_config, cfg, launcher=InlineLauncher())
    return code, capsys.readouterr().err, root / "results" / "studies" / "demo"


def test_unprepared_dataset_is_refused_before_planning(root, capsys):
    code, err, results = study(root, capsys)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "study 'demo' cannot start (1 problem(s), nothing launched): dataset 'digits' is not prepared" in err
    # no params.yaml in this root: the DVC stage does not exist there, so the hint says how to make it
    assert "`python -m ganaudit.data prepare digits` (`dvc repro prepare@digits` exists only after adding " \
           "'digits' to the datasets list of params.yaml)" in err
    assert not (results / "plan.json").exists() and not (results / "records").exists()


def test_missing_weights_are_refused_and_the_stage_is_named(root, digits_store, capsys):
    link_store(root, digits_store)
    (root / "params.yaml").write_text("datasets:\n  - digits\n")
    code, err, results = study(root, capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert "digits_cnn weights not found" in err and "(for dataset 'digits': `dvc repro weights@digits` (or " \
           "`python -m ganaudit.metrics.fetch_weights ensure digits" in err
    assert not (results / "plan.json").exists()


def test_unwritable_results_dir_is_refused(root, capsys):
    (root / "results").write_text("a file where the results directory should be")
    code, err, _ = study(root, capsys, "study_task.name=standin")
    assert code == 1 and "study results directory" in err and "cannot be written" in err, err


def test_missing_reference_statistics_are_announced_with_their_command(root, digits_store, monkeypatch, caplog):
    from sklearn.datasets import load_digits

    from ganaudit.data.digits import render_digits
    from ganaudit.metrics import digits_cnn

    link_store(root, digits_store)
    d = load_digits()
    net = digits_cnn.train_classifier(render_digits(d.images[:50]), d.target[:50], seed=0, epochs=1)
    digits_cnn.save_weights(net, root / "artifacts" / "weights" / "digits_cnn.pt", {"test": True})
    monkeypatch.setattr(digits_cnn, "DIGITS_WEIGHTS",
                        digits_cnn.DIGITS_WEIGHTS.__class__(**{**digits_cnn.DIGITS_WEIGHTS.__dict__, "sha256": None}))
    cfg = compose(["study=demo", *TWO], config_name="run_study")
    spec = StudySpec.from_config(cfg.study, cfg.hparam_keys)
    with caplog.at_level(logging.WARNING, logger="ganaudit.study"):
        preflight_study(spec, root / "results", "train")     # data and weights present: no error
    assert "reference statistics of digits under protocol digits_cnn are not cached" in caplog.text
    assert f"ganaudit refstats digits --data-dir {root}/data/prepared/digits" in caplog.text


def test_option_error_in_the_study_file_exits_2_before_data_checks(root, capsys):
    code, err, results = study(root, capsys, "study.base=['dataset=digits','trainer.batch_size=1']")
    assert code == 2 and err.count("\n") == 1 and "option 'trainer.batch_size' = 1: expected an integer >= 2" in err
    assert not results.exists()
