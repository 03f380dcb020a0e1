"""`python -m ganaudit.audit compare`: a fresh study run against a committed report, bit for bit."""

import json
import math

import pandas as pd
import pytest

from ganaudit.audit.compare import compare_runs, load_runs
from ganaudit.cli.audit import main as audit_main
from ganaudit.utils.errors import DataError

# FIDs whose shortest decimal repr needs 16-17 digits (the hard case for a CSV round trip)
RUNS = [
    {"key": "aaaa-s0", "label": "loss=ns", "status": "ok", "fid_min": 4772.732120620371, "fid_final": 0.1 + 0.2},
    {"key": "aaaa-s1", "label": "loss=ns", "status": "ok", "fid_min": 1 / 3, "fid_final": 2535.740410223111},
    {"key": "bbbb-s0", "label": "loss=wgan", "status": "diverged", "fid_min": None, "fid_final": None},
]


def _committed_csv(tmp_path, runs=RUNS):
    """A report-style runs.csv written by pandas, as the audit writes it (None -> empty cell)."""
    path = tmp_path / "report" / "runs.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(runs).assign(seed=0).to_csv(path, index=False)
    return path


def _fresh_store(tmp_path, runs):
    """A results directory with one JSON record per run (as the study's store keeps them)."""
    root = tmp_path / "fresh"
    (root / "records").mkdir(parents=True)
    for r in runs:
        (root / "records" / f"{r['key']}.json").write_text(json.dumps({**r, "seed": 0}))
    return root


def test_csv_round_trip_keeps_every_bit(tmp_path):
    loaded = load_runs(_committed_csv(tmp_path))
    for r in RUNS:
        for k in ("fid_min", "fid_final"):
            got = loaded[r["key"]][k]
            assert (got is None and r[k] is None) or got.hex() == r[k].hex()
    assert loaded["bbbb-s0"]["status"] == "diverged"


def test_identical_runs_exit_zero(tmp_path, capsys):
    rc = audit_main(["compare", str(_committed_csv(tmp_path)), str(_fresh_store(tmp_path, RUNS))])
    out = capsys.readouterr().out
    assert rc == 0
    assert "3 of 3 committed runs bit-identical; 0 differ; 0 missing" in out
    assert "4772.732120620371" in out


def test_last_bit_difference_is_found_and_named(tmp_path, capsys):
    fresh = [dict(r) for r in RUNS]
    fresh[1]["fid_final"] = math.nextafter(RUNS[1]["fid_final"], math.inf)  # one ulp
    assert f"{fresh[1]['fid_final']:.12g}" == f"{RUNS[1]['fid_final']:.12g}"  # invisible at 12 digits
    diffs, _ = compare_runs(load_runs(_committed_csv(tmp_path)), load_runs(_fresh_store(tmp_path, fresh)))
    assert [(d.key, d.differing) for d in diffs if not d.equal] == [("aaaa-s1", ("fid_final",))]
    rc = audit_main(["compare", str(tmp_path / "report" / "runs.csv"), str(tmp_path / "fresh")])
    out = capsys.readouterr().out
    assert rc == 1 and "2 of 3 committed runs bit-identical; 1 differ" in out
    assert RUNS[1]["fid_final"].hex() in out and fresh[1]["fid_final"].hex() in out  # hex shown for diffs


def test_status_change_differs(tmp_path):
    fresh = [dict(r) for r in RUNS]
    fresh[2]["status"] = "ok"
    diffs, _ = compare_runs(load_runs(_committed_csv(tmp_path)), load_runs(_fresh_store(tmp_path, fresh)))
    assert [d.differing for d in diffs if not d.equal] == [("status",)]


def test_missing_run_fails_and_extra_run_is_listed(tmp_path, capsys):
    fresh = [RUNS[0], RUNS[2], {**RUNS[0], "key": "cccc-s0"}]
    rc = audit_main(["compare", str(_committed_csv(tmp_path)), str(_fresh_store(tmp_path, fresh))])
    out = capsys.readouterr().out
    assert rc == 1
    assert "2 of 3 committed runs bit-identical; 0 differ; 1 missing from the fresh run; 1 only in the fresh run" in out
    assert "cccc-s0" in out


def test_fresh_side_may_be_a_csv_too(tmp_path):
    committed = _committed_csv(tmp_path)
    assert audit_main(["compare", str(committed), str(committed)]) == 0


@pytest.mark.parametrize("bad", ["nowhere", "empty_dir", "no_key.csv"])
def test_unreadable_input_is_a_one_line_error_exit_2(tmp_path, capsys, bad):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "no_key.csv").write_text("a,b\n1,2\n")
    rc = audit_main(["compare", str(tmp_path / bad), str(_committed_csv(tmp_path))])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error:") and len(err.splitlines()) == 1 and bad in err
    with pytest.raises(DataError):
        load_runs(tmp_path / bad)
