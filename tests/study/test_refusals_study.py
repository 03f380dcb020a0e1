"""Every bad study input the study command refuses: exit 2, one line naming the study file, the thing and
what was expected, no traceback, and the results store byte-identical, with ``plan=true`` as in the run.

Each case is a study file written into a copy of ``conf/`` (``GANAUDIT_CONF``) and run through the
command's own entry (``hydra_cli``) in this process; two cases also run as real subprocesses.
"""

import shutil
import subprocess
import sys

import pytest

from ganaudit.cli.hydra_app import hydra_cli
from ganaudit.cli.study import main
from ganaudit.training.config import conf_dir
from tests.study.test_launchers import REPO, env_for
from tests.study.test_store_lock import tree_digest

SMOKE_BASE = """name: bad
base: [dataset=digits, arch=sndcgan, arch.width=0.0625, trainer.d_steps=4, trainer.batch_size=8,
       trainer.checkpoint_every=2, eval.every=2, trainer.progress_bar=false]
"""
GOOD_REST = """configurations:
  axes: {loss: [ns, wgan], norm: [spectral]}
hparams:
  modes: [fixed]
  fixed: [{lr: 0.0002, beta1: 0.5, beta2: 0.999, n_dis: 1}]
seeds: [0]
"""
FIXED = "hparams:\n  modes: [fixed]\n  fixed: [{%s}]\nseeds: [0]\n"
OK_SETTING = "lr: 0.0002, beta1: 0.5, beta2: 0.999, n_dis: 1"
AXES = "configurations:\n  axes: {loss: [ns, wgan], norm: [spectral]}\n"
GP = "configurations:\n  list: [{label: GP, overrides: [norm=none, penalty=wgan_gp]}]\n"

#: name -> (study file text, what the one-line message must contain)
CASES = {
    "unknown_hparam_key": (SMOKE_BASE + AXES + FIXED % (OK_SETTING + ", lamdba: 10"),
                           ["study.hparams.fixed[0] has unknown key 'lamdba'", "did you mean 'lambda'",
                            "expected one of lr, beta1, beta2, n_dis, lambda"]),
    "duplicate_config_labels": (SMOKE_BASE + "configurations:\n  list:\n"
                                "    - {label: NS, overrides: [loss=ns, norm=spectral]}\n"
                                "    - {label: NS again, overrides: [norm=spectral, loss=ns, arch=sndcgan]}\n"
                                + FIXED % OK_SETTING,
                                ["configurations 'NS' and 'NS again' resolve to the same training configuration",
                                 "expected configurations that differ"]),
    "lr_out_of_range": (SMOKE_BASE + AXES + FIXED % "lr: -0.001, beta1: 0.5, beta2: 0.999, n_dis: 1",
                        ["configuration 'loss=ns,norm=spectral'", "setting lr=-0.001",
                         "option 'optim.lr' = -0.001: expected a learning rate > 0"]),
    "beta_out_of_range": (SMOKE_BASE + AXES + FIXED % "lr: 0.0002, beta1: 1.0, beta2: 0.999, n_dis: 1",
                          ["option 'optim.beta1' = 1.0: expected an Adam beta in [0, 1)"]),
    "n_dis_zero": (SMOKE_BASE + AXES + FIXED % "lr: 0.0002, beta1: 0.5, beta2: 0.999, n_dis: 0",
                   ["option 'optim.n_dis' = 0: expected an integer >= 1"]),
    "n_dis_not_integer": (SMOKE_BASE + AXES + FIXED % "lr: 0.0002, beta1: 0.5, beta2: 0.999, n_dis: 1.5",
                          ["study.hparams.fixed[0].n_dis = 1.5; expected an integer"]),
    "negative_lambda": (SMOKE_BASE + GP + FIXED % (OK_SETTING + ", lambda: -1"),
                        ["configuration 'GP'", "option 'penalty.weight' = -1.0: expected a penalty weight"]),
    "lambda_without_penalty": (SMOKE_BASE + AXES + FIXED % (OK_SETTING + ", lambda: 10"),
                               ["study.hparams.fixed[0].lambda is set but no configuration of the study has a "
                                "penalty"]),
    "bo_beta_range_reaches_1": (SMOKE_BASE + GP
                                + "hparams:\n  modes: [bo]\n  bo: {rounds: 1, batch: 2, beta1: [0.0, 1.0]}\n",
                                ["hparams mode bo (end of its range)", "option 'optim.beta1' = 1.0"]),
    "list_entry_unknown_key": (SMOKE_BASE + "configurations:\n  list: [{label: hinge, loss: hinge}]\n"
                               + FIXED % OK_SETTING,
                               ["study.configurations.list[0] ('hinge') has unknown key 'loss'",
                                "expected one of label, only, overrides"]),
    "unknown_axis_value": (SMOKE_BASE + "configurations:\n  axes: {loss: [ns, hingee]}\n" + FIXED % OK_SETTING,
                           ["configuration 'loss=hingee'", "unknown loss 'hingee'", "allowed values for option "
                            "'loss'"]),
    "unknown_axis_name": (SMOKE_BASE + "configurations:\n  axes: {los: [ns]}\n" + FIXED % OK_SETTING,
                          ["configuration 'los=ns'", "unknown option 'los'", "did you mean 'loss'"]),
    "norm_not_for_arch": (SMOKE_BASE + "configurations:\n  axes: {norm: [batch]}\n" + FIXED % OK_SETTING,
                          ["configuration 'norm=batch'", "sndcgan"]),
    "seeds_not_integers": (SMOKE_BASE + AXES + "hparams:\n  modes: [fixed]\n  fixed: [{%s}]\nseeds: [0, one]\n"
                           % OK_SETTING, ["study.seeds[1] = 'one'; expected an integer"]),
    "seed_float": (SMOKE_BASE + AXES + "hparams:\n  modes: [fixed]\n  fixed: [{%s}]\nseeds: [0.5]\n" % OK_SETTING,
                   ["study.seeds[0] = 0.5; expected an integer"]),
    "seed_negative": (SMOKE_BASE + AXES + "hparams:\n  modes: [fixed]\n  fixed: [{%s}]\nseeds: [-1]\n" % OK_SETTING,
                      ["study.seeds[0] = -1; expected an integer seed in [0, 2**32)"]),
    "empty_configurations": (SMOKE_BASE + "configurations: {}\n" + FIXED % OK_SETTING,
                             ["study.configurations is empty; expected 'axes' and/or 'list'"]),
    "filter_admits_nothing": (SMOKE_BASE + "configurations:\n  list: [{label: GP5, overrides: [penalty=wgan_gp, "
                              "norm=none], only: {n_dis: 5}}]\n" + FIXED % OK_SETTING,
                              ["configuration 'GP5' plans no run", "only={'n_dis': 5}"]),
    "filter_unknown_key": (SMOKE_BASE + "configurations:\n  list: [{label: GP5, overrides: [penalty=wgan_gp], "
                           "only: {ndis: 5}}]\n" + FIXED % OK_SETTING,
                           ["study.configurations.list[0].only has unknown key 'ndis'", "did you mean 'n_dis'"]),
    "unknown_top_level_key": (SMOKE_BASE + AXES + FIXED % OK_SETTING + "seed: [1, 2]\n",
                              ["study has unknown key 'seed'", "did you mean 'seeds'"]),
    "unknown_mode": (SMOKE_BASE + AXES + "hparams:\n  modes: [grd]\nseeds: [0]\n",
                     ["unknown mode 'grd'", "did you mean 'grid'", "allowed: fixed, grid, random, bo"]),
    "grid_option_typo": (SMOKE_BASE + AXES + "hparams:\n  modes: [grid]\n  grid: {dedupe_unpenalised: true}\n"
                         "seeds: [0]\n", ["study.hparams.grid has unknown key 'dedupe_unpenalised'",
                                          "did you mean 'dedupe_unpenalized'"]),
    "fixed_lacks_a_key": (SMOKE_BASE + AXES + FIXED % "lr: 0.0002, beta1: 0.5, n_dis: 1",
                          ["study.hparams.fixed[0]", "lacks beta2"]),
    "fixed_value_not_a_number": (SMOKE_BASE + AXES + FIXED % "lr: fast, beta1: 0.5, beta2: 0.999, n_dis: 1",
                                 ["study.hparams.fixed[0].lr = 'fast'; expected a finite number"]),
    "not_yaml": ("name: bad\nconfigurations: {axes: [loss: ns\n", ["bad.yaml"]),
    "not_a_mapping": ("- name: bad\n- seeds: [0]\n", ["bad.yaml"]),
}


@pytest.fixture(scope="module")
def conf_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("conf")
    shutil.copytree(conf_dir(), root / "conf")
    (root / "conf" / "study" / "good.yaml").write_text(SMOKE_BASE.replace("name: bad", "name: good") + GOOD_REST)
    return root / "conf"


def run_study_cli(monkeypatch, conf, results, *args) -> int:
    """``python -m ganaudit.study`` in this process (the stand-in task: nothing trains); its exit code."""
    monkeypatch.setenv("GANAUDIT_CONF", str(conf))
    monkeypatch.setattr(sys, "argv", ["ganaudit.study", "study_task.name=standin", f"results_dir={results}",
                                      f"hydra.run.dir={results.parent / 'hydra'}", *args])
    try:
        hydra_cli(main, "run_study")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def store(tmp_path_factory, conf_copy):
    """A results store that a good study filled (the refusals below must leave it as it is)."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("store") / "results"
    try:
        assert run_study_cli(mp, conf_copy, root, "study=good") == 0
    finally:
        mp.undo()
    assert len(list((root / "records").glob("*.json"))) == 2
    return root


@pytest.mark.parametrize("plan", [False, True], ids=["run", "plan"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_study_is_refused_in_one_line_and_the_store_is_untouched(case, plan, conf_copy, store, monkeypatch,
                                                                      capfd):
    text, needles = CASES[case]
    path = conf_copy / "study" / "bad.yaml"
    path.write_text(text)
    before = tree_digest(store)
    capfd.readouterr()
    code = run_study_cli(monkeypatch, conf_copy, store, "study=bad", f"plan={str(plan).lower()}")
    out, err = capfd.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert "Traceback" not in err + out and "Study bad: plan" not in out
    if case not in ("not_yaml", "not_a_mapping"):
        assert f"study file '{path}'" in lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert tree_digest(store) == before


def test_good_study_plans_after_the_refusals(conf_copy, store, monkeypatch, capfd):
    capfd.readouterr()
    assert run_study_cli(monkeypatch, conf_copy, store, "study=good", "plan=true") == 0
    assert "runs: 2 (" in capfd.readouterr().out


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", ["unknown_hparam_key", "lr_out_of_range"])
def test_real_command_refuses_without_traceback(case, conf_copy, tmp_path):
    (conf_copy / "study" / "bad.yaml").write_text(CASES[case][0])
    env = {**env_for(tmp_path), "GANAUDIT_CONF": str(conf_copy)}
    for plan in ("false", "true"):
        proc = subprocess.run([sys.executable, "-m", "ganaudit.study", "study=bad", "study_task.name=standin",
                               f"plan={plan}"], cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [proc.stderr.strip()]
        assert CASES[case][1][0] in proc.stderr
    assert not (tmp_path / "results").exists()      # nothing written where the store would be
