"""The study driver with the in-process launcher and the stand-in task: skip, retry, BO, audit input."""

import json

import pytest

from ganaudit.study.driver import StudyDriver
from ganaudit.study.spec import StudySpec
from ganaudit.study.store import ResultsStore
from tests.study.test_expand import KEYS


def small_spec(modes=("fixed",), seeds=(0, 1, 2), **hp):
    return StudySpec.from_config({
        "name": "drv", "base": ["dataset=digits"],
        "configurations": {"axes": {"loss": ["ns", "wgan"]}},
        "hparams": {"modes": list(modes),
                    "fixed": [{"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_dis": 1},
                              {"lr": 8e-3, "beta1": 0.5, "beta2": 0.999, "n_dis": 1}],   # diverges (stand-in)
                    **hp},
        "seeds": list(seeds)}, KEYS)


def test_run_skip_and_retry(tmp_path):
    marker = tmp_path / "fail.txt"
    spec = small_spec()
    first = StudyDriver(spec, tmp_path / "res", task="standin", task_options={"fail_marker": str(marker)})
    keys = [r.key for r in first.assign_keys(spec.expand_static())]
    assert len(keys) == 2 * 2 * 3
    marker.write_text("\n".join(keys[:2]))
    s1 = StudyDriver(spec, tmp_path / "res", task="standin", task_options={"fail_marker": str(marker)}).run()
    assert s1["launched"] == 12 and s1["statuses"] == {"ok": 4, "diverged": 6, "failed": 2}
    store = ResultsStore(tmp_path / "res")
    failed = store.get(keys[0])
    assert failed["status"] == "failed" and "stand-in failure" in failed["reason"] and failed["traceback"]
    before = {r["key"]: r["recorded_at"] for r in store.records() if r["status"] != "failed"}
    marker.unlink()
    s2 = StudyDriver(spec, tmp_path / "res", task="standin").run()
    assert s2["launched"] == 2 and s2["skipped_finished"] == 10           # only the failed ones again
    assert s2["statuses"] == {"ok": 6, "diverged": 6}
    assert store.get(keys[0])["attempt"] == 2 and (tmp_path / "res" / "attempts" / f"{keys[0]}.1.json").exists()
    assert all(store.get(k)["recorded_at"] == t for k, t in before.items())  # finished ones untouched
    s3 = StudyDriver(spec, tmp_path / "res", task="standin").run()
    assert s3["launched"] == 0 and s3["skipped_finished"] == 12
    runs = store.frame()
    assert set(runs[runs["status"] == "diverged"]["lr"]) == {8e-3}
    assert runs["fid_min"].notna().sum() == 6
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["statuses"] == {"ok": 6, "diverged": 6}
    assert (tmp_path / "res" / "runs.csv").exists()


def test_different_seeds_differ_same_seed_same(tmp_path):
    spec = small_spec(seeds=(0, 1))
    StudyDriver(spec, tmp_path / "a", task="standin").run()
    StudyDriver(spec, tmp_path / "b", task="standin").run()
    a, b = ResultsStore(tmp_path / "a").frame(), ResultsStore(tmp_path / "b").frame()
    assert a["fid_min"].fillna(-1).tolist() == b["fid_min"].fillna(-1).tolist()
    ok = a[a["status"] == "ok"].set_index(["label", "seed"])["fid_min"]
    assert ok.loc[("loss=ns", 0)] != ok.loc[("loss=ns", 1)]


@pytest.mark.timeout(120)
def test_bo_through_the_driver_resumes_without_relaunch(tmp_path):
    spec = small_spec(modes=("fixed", "bo"), seeds=(0,),
                      bo={"rounds": 2, "batch": 3, "n_dis": [1], "n_startup_trials": 100, "seed": 0})
    s1 = StudyDriver(spec, tmp_path / "res", task="standin").run()
    assert s1["launched"] == 2 * 2 + 2 * 2 * 3                       # fixed + 2 configs x 2 rounds x 3
    frame = ResultsStore(tmp_path / "res").frame()
    bo = frame[frame["source"] == "bo"]
    assert sorted(bo["bo_round"].unique()) == [0, 1] and len(bo) == 12
    s2 = StudyDriver(spec, tmp_path / "res", task="standin").run()
    assert s2["launched"] == 0 and s2["planned"] == s1["planned"]


def test_parallel_launcher_defaults_torch_threads_to_cores_per_job():
    import os

    from omegaconf import OmegaConf

    from ganaudit.study.run import task_options as _task_options

    cfg = OmegaConf.create({"study_task": {"options": {"torch_threads": None}}})
    par = type("L", (), {"n_jobs": 2})()
    assert _task_options(cfg, par)["torch_threads"] == max(1, (os.cpu_count() or 1) // 2)
    assert _task_options(cfg, None)["torch_threads"] is None            # sequential: torch's default
    cfg.study_task.options.torch_threads = 3
    assert _task_options(cfg, par)["torch_threads"] == 3                 # an explicit choice wins


def test_study_file_task_options_override_run_study_defaults():
    from omegaconf import OmegaConf

    from ganaudit.study.run import task_options as _task_options

    cfg = OmegaConf.create({"study_task": {"options": {"torch_threads": None, "sleep_s": 1}},
                            "study": {"task_options": {"torch_threads": 1, "sleep_s": None}}})
    assert _task_options(cfg, None) == {"torch_threads": 1, "sleep_s": 1}
