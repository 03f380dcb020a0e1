"""Results store: atomic records, skip/retry semantics, concurrent writers, DataFrame read-back."""

import json
import multiprocessing as mp

import pandas as pd
import pytest

from ganaudit.study.store import RUN_COLUMNS, ResultsStore, run_key
from ganaudit.utils.errors import DataError
from tests.study.helpers import record


def test_put_get_and_frame(tmp_path):
    store = ResultsStore(tmp_path)
    store.put(record("a-s0", fid_min=12.5, seed=0))
    store.put(record("b-s1", status="diverged", fid_min=None, seed=1, diverged_step=7))
    assert store.keys() == {"a-s0", "b-s1"}
    assert store.finished_keys() == {"a-s0", "b-s1"}
    frame = store.frame()
    assert list(frame.columns) == RUN_COLUMNS
    row = frame.set_index("key").loc["b-s1"]
    assert row["status"] == "diverged" and pd.isna(row["fid_min"]) and row["diverged_step"] == 7
    assert frame.set_index("key").loc["a-s0", "fid_min"] == 12.5
    assert len(store.evals_frame()) == 2  # only the ok run has checkpoints
    paths = store.export(tmp_path / "out")
    assert pd.read_parquet(paths["runs_parquet"])["key"].tolist() == ["a-s0", "b-s1"]


def test_run_key():
    assert run_key("0123abcd", 4) == "0123abcd-s4"


def test_failed_is_retried_and_archived_finished_is_never_replaced(tmp_path):
    store = ResultsStore(tmp_path)
    store.put(record("a-s0", status="failed", fid_min=None))
    assert store.finished_keys() == set()
    store.put(record("a-s0", fid_min=10.0))
    rec = store.get("a-s0")
    assert rec["status"] == "ok" and rec["attempt"] == 2
    archived = json.loads((tmp_path / "attempts" / "a-s0.1.json").read_text())
    assert archived["status"] == "failed"
    with pytest.raises(DataError, match="already finished"):
        store.put(record("a-s0", fid_min=99.0))
    assert store.get("a-s0")["fid_min"] == 10.0


def test_bad_records_raise_clear_errors(tmp_path):
    store = ResultsStore(tmp_path)
    with pytest.raises(DataError, match="status"):
        store.put({"key": "x-s0", "status": "weird"})
    (tmp_path / "records").mkdir(exist_ok=True)
    (tmp_path / "records" / "bad-s0.json").write_text("{not json")
    with pytest.raises(DataError, match="bad-s0.json"):
        store.records()


def test_temp_files_of_interrupted_writes_are_ignored(tmp_path):
    store = ResultsStore(tmp_path)
    store.put(record("a-s0"))
    (tmp_path / "records" / ".a-s1.json.123.tmp").write_text('{"key": "a-s1", "sta')  # torn write
    assert store.keys() == {"a-s0"}
    assert len(store.records()) == 1


def _writer(root: str, worker: int, n: int) -> None:
    store = ResultsStore(root)
    for i in range(n):
        store.put(record(f"w{worker}r{i}-s{i % 3}", fid_min=float(worker * 100 + i), label=f"w{worker}"))


def test_concurrent_appends_from_processes_never_corrupt(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    recs = ResultsStore(tmp_path).records()       # every file parses (else DataError)
    assert len(recs) == 160
    assert sorted(r["fid_min"] for r in recs) == sorted(float(w * 100 + i) for w in range(4) for i in range(40))
    assert not list((tmp_path / "records").glob("*.tmp"))
