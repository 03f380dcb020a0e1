"""Results records are validated before any audit uses them: a hand-edited or damaged record is
refused (exit 1, one line naming the file and the problem) and no report is written."""

from __future__ import annotations

import json

import pytest

from ganaudit.cli.audit import main as audit_main
from ganaudit.study.record_schema import record_problems
from ganaudit.study.store import ResultsStore
from tests.study.helpers import record

EDITS = {
    "negative fid": (lambda r: r["evals"][1].update(fid=-3.0),
                     "evals[1] fid = -3.0: expected a finite number in [0, inf]"),
    "fid_min not from evals": (lambda r: r.update(fid_min=1.0), "field 'fid_min' = 1.0: the evals give 30.0"),
    "missing status": (lambda r: r.pop("status"), "field 'status' is missing"),
    "unknown status": (lambda r: r.update(status="great"), "status = 'great': expected one of"),
    "seed as text": (lambda r: r.update(seed="0"), "field 'seed' = '0': expected int"),
    "IS below 1": (lambda r: r["evals"][0].update({"is": 0.5}),
                   "evals[0] is = 0.5: expected a finite number in [1, inf]"),
    "ms_ssim above 1": (lambda r: r["evals"][0].update(ms_ssim=1.5), "evals[0] ms_ssim = 1.5"),
    "nan fid": (lambda r: r["evals"][0].update(fid=float("nan")), "evals[0] fid = nan"),
    "key of another seed": (lambda r: r.update(seed=4), "key 'a-s0' / seed 4"),
    "ok without fid_min": (lambda r: r.update(fid_min=None, fid_final=None, evals=[{"step": 5, "fid": None}]),
                           "status ok with evaluations but no fid_min"),
}


def test_valid_records_have_no_problems():
    for rec in (record("a-s0"), record("b-s1", status="diverged", fid_min=None, diverged_step=7),
                record("c-s2", status="failed", fid_min=None), record("d-s0", fid_min=10.0, fid_final=12.0)):
        assert record_problems(rec, rec["key"]) == []
    assert record_problems(record("a-s0"), "b-s0") == ["key 'a-s0': expected the file's name 'b-s0'"]


@pytest.mark.parametrize("name", sorted(EDITS))
def test_hand_edited_record_is_refused(name):
    edit, needle = EDITS[name]
    rec = record("a-s0")
    edit(rec)
    problems = record_problems(rec, "a-s0")
    assert any(needle in p for p in problems), problems


def test_audit_refuses_a_study_with_an_edited_record(tmp_path, capsys):
    store = ResultsStore(tmp_path / "results")
    for i in range(3):
        store.put(record(f"a-s{i}", fid_min=20.0 + i))
    path = store.records_dir / "a-s1.json"
    rec = json.loads(path.read_text())
    rec["fid_min"] = 2.0                       # a better-looking number than the run measured
    path.write_text(json.dumps(rec))
    code = audit_main(["--results", str(tmp_path / "results"), "--out", str(tmp_path / "audit"), "--baselines", ""])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and f"results record {path} is invalid: field 'fid_min' = 2.0: " \
        "the evals give 21.0" in err, err
    assert not (tmp_path / "audit" / "report.md").exists()
