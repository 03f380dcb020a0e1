"""The audit report says which data order, Adam and GPU precision the runs used (from their configs)."""

import json

import pytest

from ganaudit.audit.report import AuditOptions, write_audit
from ganaudit.study.store import ResultsStore
from tests.study.helpers import record


def _config(data_seed, impl="tf1", precision="32-true"):
    return {"dataset": {"name": "digits"}, "arch": {"name": "sndcgan"}, "loss": {"name": "ns"},
            "norm": {"name": "spectral"}, "penalty": {"name": "none"}, "data_seed": data_seed,
            "optim": {"impl": impl}, "trainer": {"precision": precision}}


@pytest.mark.parametrize("per_seed, expected", [
    (False, "data order `data_seed = 547` for every run"),
    (True, "data order `data_seed = seed` (each seed its own data order"),
])
def test_report_names_the_data_seed(tmp_path, per_seed, expected):
    store = ResultsStore(tmp_path / "results")
    for seed in range(3):
        store.put(record(f"abc-s{seed}", seed=seed, fid_min=30.0 + seed,
                         config=_config(seed if per_seed else 547)))
    paths = write_audit(tmp_path / "results", tmp_path / "audit", AuditOptions(budget_reps=20, n_boot=100))
    report = paths["report"].read_text()
    assert expected in report
    assert "Adam `optim.impl` = tf1; `trainer.precision` = 32-true." in report
    data_seeds = json.loads(paths["metrics"].read_text())["data_seeds"]
    assert data_seeds == ("0,1,2" if per_seed else "547")
