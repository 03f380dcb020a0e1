"""A SIGTERM'd study records its in-flight run as ``interrupted`` (not ``failed``), exits 143 with one
line, and a rerun runs what is left: the interrupted run and those not started, never a finished one."""

import json
import os
import signal
import subprocess
import time

import pytest

from ganaudit.study.store import ResultsStore
from tests.study.test_launchers import REPO, env_for, run_study, study_cmd

OVERRIDES = ["study.name=sigtest", "study.seeds=[0,1,2]", "study.configurations.axes.loss=[ns]",
             "study.configurations.axes.norm=[none]", "+study_task.options.sleep_s=3"]


@pytest.mark.timeout(300)
def test_sigterm_marks_the_in_flight_run_interrupted_and_a_rerun_resumes(tmp_path):
    store_dir = tmp_path / "results" / "studies" / "sigtest"
    proc = subprocess.Popen(study_cmd(*OVERRIDES), cwd=REPO, env=env_for(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((store_dir / "records").glob("*.json"))) < 1:
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.05)
    time.sleep(1.0)  # the second run is sleeping (in flight)
    os.kill(proc.pid, signal.SIGTERM)  # the study process this test started
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: study 'sigtest' stopped by SIGTERM: run(s) ") and "Traceback" not in err
    records = {r["key"]: r for r in ResultsStore(store_dir).records()}
    statuses = sorted(r["status"] for r in records.values())
    assert statuses == ["interrupted", "ok"]  # one finished, one in flight, one never started
    stopped = next(k for k, r in records.items() if r["status"] == "interrupted")
    assert stopped in last and "rerun the same command to resume" in last
    finished = next(k for k, r in records.items() if r["status"] == "ok")
    blob = (store_dir / "records" / f"{finished}.json").read_bytes()

    summary = run_study(tmp_path, *OVERRIDES)
    assert summary["statuses"] == {"ok": 3} and summary["launched"] == 2 and summary["skipped_finished"] == 1
    assert (store_dir / "records" / f"{finished}.json").read_bytes() == blob
    assert json.loads((store_dir / "records" / f"{stopped}.json").read_text())["status"] == "ok"
