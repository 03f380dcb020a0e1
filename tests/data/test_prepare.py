"""Preparation: parallel == serial, atomic shards, resume after a kill, manifest pinning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ganaudit.data import open_split
from ganaudit.data.prepare import prepare
from ganaudit.data.store import dumps, shard_stem
from ganaudit.utils.errors import DataError

KW = dict(n_total=300, n_test=50, shard_size=32, progress=False)


def _files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.timeout(120)
def test_parallel_equals_serial(tmp_path):
    m1 = prepare("digits", None, tmp_path / "a", splits_dir=tmp_path / "s1", workers=1, **KW)
    m2 = prepare("digits", None, tmp_path / "b", splits_dir=tmp_path / "s2", workers=2, **KW)
    assert dumps(m1) == dumps(m2)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert not [p for p in (tmp_path / "b").rglob("*.tmp*")]  # no temporary file left behind


def test_resume_redoes_only_incomplete_shards(tmp_path):
    out = tmp_path / "out"
    prepare("digits", None, out, splits_dir=tmp_path / "s", **KW)
    clean = _files(out)
    # what a kill can leave: a temp file, a shard without its meta, a half-written .npy
    (out / "train" / ".shard-00001.999.tmp.npy").write_bytes(b"partial")
    shard_stem(out, "train", 2).with_suffix(".json").unlink()
    npy = shard_stem(out, "test", 0).with_suffix(".npy")
    npy.write_bytes(npy.read_bytes()[:1000])
    (out / "manifest.json").unlink()
    untouched = shard_stem(out, "train", 3).with_suffix(".npy")
    stamp = untouched.stat().st_mtime_ns
    with pytest.raises(DataError, match="not prepared"):
        open_split("digits", "train", out)
    prepare("digits", None, out, splits_dir=tmp_path / "s", **KW)
    assert untouched.stat().st_mtime_ns == stamp  # complete shards are reused
    got = _files(out)
    got.pop("train/.shard-00001.999.tmp.npy")  # a stray temp file is ignored, never used
    assert got == clean


@pytest.mark.timeout(120)
def test_sigkill_mid_preparation_then_rerun_gives_the_clean_store(tmp_path):
    out, splits = tmp_path / "killed", tmp_path / "s"
    args = ["prepare", "digits", "--out", str(out), "--splits", str(splits), "--shard-size", "8",
            "--workers", "1", "--no-progress", "--n-total", "300", "--n-test", "50"]
    # Each shard takes >= 0.2 s in this child (its preparation is slowed, nothing else changes), so
    # the kill lands mid-way however idle the machine is: 38 shards would take >= 7.6 s.
    slowed = ("import sys, time\n"
              "import ganaudit.data.prepare as p\n"
              "job = p.run_job\n"
              "p.run_job = lambda *a: (time.sleep(0.2), job(*a))[1]\n"
              "from ganaudit.cli.data import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    cmd = [sys.executable, "-c", slowed, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("train/*.json"))) < 3:
        time.sleep(0.05)
    assert proc.poll() is None, "preparation finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()  # killed before completion: never marked complete
    kw = dict(KW, shard_size=8)
    m = prepare("digits", None, out, splits_dir=splits, **kw)
    ref = prepare("digits", None, tmp_path / "ref", splits_dir=tmp_path / "s2", **kw)
    assert dumps(m) == dumps(ref)
    assert {k: v for k, v in _files(out).items() if ".tmp" not in k} == _files(tmp_path / "ref")


def test_committed_manifest_mismatch_stops_and_keeps_shards(tmp_path):
    prepare("digits", None, tmp_path / "a", splits_dir=tmp_path / "s", **KW)
    with pytest.raises(DataError, match=r"does not match the committed manifest .*digits.json: "
                                        r"seed is 5; the manifest pins 0"):
        prepare("digits", None, tmp_path / "b", seed=5, splits_dir=tmp_path / "s", **KW)
    assert (tmp_path / "b" / "manifest.rejected.json").exists()
    assert not (tmp_path / "b" / "manifest.json").exists() and list((tmp_path / "b").glob("*/*.npy"))
    # a different preprocessing result (simulated by editing the committed shard digest)
    committed = tmp_path / "s" / "digits.json"
    committed.write_text(committed.read_text().replace(
        open_split("digits", "train", tmp_path / "a").manifest["splits"]["train"]["shards"][1]["sha256"],
        "0" * 64))
    with pytest.raises(DataError, match=r"train shard 1 \(items 32..63\) has sha256"):
        prepare("digits", None, tmp_path / "a", splits_dir=tmp_path / "s", **KW)
    with pytest.raises(DataError, match="not prepared"):  # the drifted store is not served
        open_split("digits", "train", tmp_path / "a")


def test_store_of_another_plan_is_replaced_not_mixed(tmp_path):
    out = tmp_path / "out"
    prepare("digits", None, out, splits_dir=tmp_path / "s", **KW)
    m = prepare("digits", None, out, seed=3, splits_dir=tmp_path / "s3", **dict(KW, shard_size=64))
    ref = prepare("digits", None, tmp_path / "ref", seed=3, splits_dir=tmp_path / "s4",
                  **dict(KW, shard_size=64))
    assert dumps(m) == dumps(ref) and _files(out).keys() == _files(tmp_path / "ref").keys()


def test_open_split_errors(tmp_path):
    with pytest.raises(DataError, match=r"'cifar10' is not prepared in .*nowhere .*"
                                        r"dvc repro prepare@cifar10"):
        open_split("cifar10", "train", tmp_path / "nowhere")
    prepare("digits", None, tmp_path / "a", splits_dir=tmp_path / "s", **KW)
    with pytest.raises(DataError, match="unknown split 'val'"):
        open_split("digits", "val", tmp_path / "a")
    with pytest.raises(DataError, match="is for dataset 'digits'; expected 'cifar10'"):
        open_split("cifar10", "test", tmp_path / "a")
    view = open_split("digits", "test", tmp_path / "a")
    assert len(view) == 50 and view.read_batch(48, 60).shape == (2, 32, 32, 3)
    assert len(view.manifest_digest) == 64
    rows = view.read_rows(np.array([40, 3, 33]))
    np.testing.assert_array_equal(rows[1], view.read_batch(3, 4)[0])
