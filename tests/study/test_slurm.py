"""Studies on a real SLURM cluster: the single-node one of ``scripts/slurm-local start`` (skipped without it).

Each test runs ``python -m ganaudit.study study=smoke hydra/launcher=slurm_local`` (real training of
the 2-run smoke study, tiny SNDCGAN on the embedded digits) and checks, through SLURM itself
(``squeue``, ``scancel``, ``scontrol requeue``, submitit's preemption signal USR2): one job per run
with its id and node recorded, a cancelled job's run recorded as failed and redone by the next
invocation (and nothing else redone), and a requeued or preempted job resuming from its ``last.ckpt``
to the same weights and FIDs as an uninterrupted run.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganaudit.study.store import ResultsStore

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
SLURM_DIR = Path(os.environ.get("GANAUDIT_SLURM_DIR") or Path(os.environ.get("TMPDIR", "/tmp")) / "ganaudit-slurm")
ONE_THREAD = "study_task.options.torch_threads=1"   # the same kernels as the in-process reference run


def _cluster_env() -> dict:
    env = dict(os.environ)
    if "SLURM_CONF" not in env and not Path("/etc/slurm/slurm.conf").exists() and (SLURM_DIR / "slurm.conf").exists():
        env["SLURM_CONF"] = str(SLURM_DIR / "slurm.conf")
    return env


def _node_state(env: dict) -> str | None:
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else None


@pytest.fixture(scope="module")
def cluster_env():
    env = _cluster_env()
    state = _node_state(env)
    if state is None or not state.rstrip("*~#").startswith(("idle", "mix", "alloc")):
        pytest.skip(f"no SLURM cluster answering sinfo (node state {state!r}); start one with "
                    "`scripts/slurm-local start`")
    return env


@pytest.fixture(scope="module")
def offline_assets(tmp_path_factory):
    """Prepared digits and the shipped (pinned) digits CNN weights, shared by the tests' roots."""
    from ganaudit.cli.data import main as data_main

    root = tmp_path_factory.mktemp("slurm_assets")
    assert data_main(["prepare", "digits", "--out", str(root / "data" / "prepared" / "digits")]) == 0
    (root / "artifacts" / "weights").mkdir(parents=True)
    shutil.copy(REPO / "src" / "ganaudit" / "resources" / "digits_cnn.pt", root / "artifacts" / "weights")
    return root


@pytest.fixture
def root(tmp_path, offline_assets):
    for sub in ("data", "artifacts"):
        (tmp_path / sub).symlink_to(offline_assets / sub)
    return tmp_path


def study(root: Path, env: dict, *overrides: str, wait: bool = True):
    cmd = [sys.executable, "-m", "ganaudit.study", "study=smoke", "hydra/launcher=slurm_local", ONE_THREAD,
           *overrides]
    env = {**env, "GANAUDIT_ROOT": str(root), "PYTHONPATH": str(REPO / "src")}
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=540)


def records(root: Path) -> list[dict]:
    return ResultsStore(root / "results" / "studies" / "smoke").records()


def squeue(env: dict) -> dict[str, str]:
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T"], capture_output=True, text=True, env=env, timeout=30)
    return dict(line.split() for line in out.stdout.splitlines())


def wait_for(predicate, timeout: float, what: str, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"study ended before {what}: {proc.stdout.read()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def array_tasks(root: Path) -> list[str]:
    """SLURM ids (``<array>_<task>``, or ``<job>`` for a batch of one) of the jobs submitted for this
    root, from submitit's folders."""
    return sorted(p.name for p in root.glob("outputs/study/smoke/*/jobs/.submitit/[0-9]*") if p.is_dir())


def test_smoke_study_runs_each_run_in_its_own_slurm_job(root, cluster_env):
    proc = study(root, cluster_env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    recs = records(root)
    assert [r["status"] for r in recs] == ["ok", "ok"]
    jobs = [r["slurm"] for r in recs]
    assert all(j is not None for j in jobs), jobs
    assert len({j["job_id"] for j in jobs}) == 2                     # one SLURM job per run
    assert len({j["array_job_id"] for j in jobs}) == 1               # one array for the batch
    assert sorted(j["array_task_id"] for j in jobs) == ["0", "1"]
    assert {j["node"] for j in jobs} == {socket.gethostname().split(".")[0]}
    assert {j["partition"] for j in jobs} == {"local"}
    assert len({r["worker"]["pid"] for r in recs}) == 2
    assert all(r["fid_min"] > 0 and len(r["evals"]) == 3 for r in recs)  # steps 0, 2, 4 evaluated


def test_scancel_marks_that_run_failed_and_rerun_completes_it(root, cluster_env):
    proc = study(root, cluster_env, wait=False)
    task = wait_for(lambda: next((t for t in array_tasks(root) if t.endswith("_1")
                                  and squeue(cluster_env).get(t) == "RUNNING"), None), 240, "task 1 running", proc)
    subprocess.run(["scancel", task], check=True, env=cluster_env, timeout=30)
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode != 0, out[-3000:]                          # a run failed: rerun to retry it
    recs = records(root)
    assert sorted(r["status"] for r in recs) == ["failed", "ok"]
    failed = next(r for r in recs if r["status"] == "failed")
    assert f"SLURM job {task} left the queue without a result" in failed["reason"]
    store = root / "results" / "studies" / "smoke" / "records"
    ok_before = {p.name: p.read_bytes() for p in store.glob("*.json") if json.loads(p.read_bytes())["status"] == "ok"}

    again = study(root, cluster_env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    summary = json.loads((root / "results" / "studies" / "smoke" / "summary.json").read_text())
    assert summary["launched"] == 1 and summary["skipped_finished"] == 1 and summary["statuses"] == {"ok": 2}
    assert all((store / name).read_bytes() == blob for name, blob in ok_before.items())  # not redone
    redone = ResultsStore(store.parent).get(failed["key"])
    assert redone["status"] == "ok" and redone["attempt"] == 2 and redone["slurm"]["job_id"] != task


LONGER = ["dataset=digits", "arch=sndcgan", "arch.width=0.0625", "trainer.d_steps=200", "trainer.batch_size=8",
          "trainer.checkpoint_every=50", "eval.every=100", "trainer.progress_bar=false"]
REQUEUE = ["study.configurations.axes.loss=[ns]", "study.base=[" + ",".join(f"'{o}'" for o in LONGER) + "]"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, offline_assets):
    """The requeue tests' run trained without interruption, in this process, on one thread."""
    from ganaudit.training.config import compose
    from ganaudit.training.train import train

    ref_root = tmp_path_factory.mktemp("uninterrupted")
    overrides = [*LONGER, "loss=ns", "norm=spectral", "optim.lr=0.0002", "optim.beta1=0.5", "optim.beta2=0.999",
                 "optim.n_dis=1", "seed=0", f"paths.root={ref_root}"]
    for sub in ("data", "artifacts"):
        (ref_root / sub).symlink_to(offline_assets / sub)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = train(compose(overrides))
    finally:
        torch.set_num_threads(threads)
    assert ref["status"] == "ok" and ref["resumed_from"] is None
    return ref


def interrupt(method: str, task: str, env: dict) -> None:
    """``scontrol``: SLURM requeues the running job. ``submitit``: the signal submitit's jobs get before
    preemption or the time limit (USR2; what ``Job._interrupt`` sends): submitit calls the launcher's
    ``checkpoint()`` (a DelayedSubmission of the same call) and requeues the job itself."""
    if method == "scontrol":
        subprocess.run(["scontrol", "requeue", task], check=True, env=env, timeout=30)
    else:
        subprocess.run(["scancel", task, "--signal", "USR2"], check=True, env=env, timeout=30)


@pytest.mark.parametrize("method", ["scontrol", "submitit"])
def test_requeued_job_resumes_from_last_ckpt_bit_identical(root, cluster_env, uninterrupted, method):
    proc = study(root, cluster_env, *REQUEUE, wait=False)
    ckpt = wait_for(lambda: next(iter(root.glob("runs/*/checkpoints/dstep-0000050.ckpt")), None), 300,
                    "the D-step-50 checkpoint", proc)
    task = array_tasks(root)[0]
    assert not (ckpt.parents[1] / "result.json").exists(), "the run must still be training"
    interrupt(method, task, cluster_env)
    # SLURM holds a requeued job back for ~2 minutes (BeginTime); release it now
    wait_for(lambda: squeue(cluster_env).get(task) == "PENDING", 60, "the requeued job pending")
    subprocess.run(["scontrol", "update", f"jobid={task}", "starttime=now"], check=True, env=cluster_env, timeout=30)
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, out[-3000:]
    [rec] = records(root)
    # scontrol requeue SIGTERMs the job: the run stops at a D step and is stored as an interrupted
    # attempt, archived when the requeued job finishes it. submitit's USR2 requeues without a record.
    assert rec["status"] == "ok" and rec["slurm"]["restart_count"] == "1"
    assert rec["attempt"] == (2 if method == "scontrol" else 1)
    if method == "scontrol":
        store = root / "results" / "studies" / "smoke"
        first = json.loads((store / "attempts" / f"{rec['key']}.1.json").read_text())
        assert first["status"] == "interrupted" and first["d_steps"] < rec["d_steps"], first
    run_dir = Path(rec["run_dir"])
    assert json.loads((run_dir / "result.json").read_text())["resumed_from"].endswith("last.ckpt")
    if method == "submitit":
        log = "".join(p.read_text() for p in root.glob(f"outputs/study/smoke/*/jobs/.submitit/{task}/*_log.err"))
        assert "Caught signal SIGUSR2" in log and "this job is preempted" in log

    assert rec["config_hash"] == uninterrupted["config_hash"]             # the same run, trained twice
    assert [e["fid"] for e in uninterrupted["evals"]] == [e["fid"] for e in rec["evals"]]
    a = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(Path(uninterrupted["run_dir"]) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_local_cluster_is_sized_for_this_host_and_has_no_gres(cluster_env):
    conf = Path(cluster_env.get("SLURM_CONF") or "/etc/slurm/slurm.conf").resolve()
    if conf != (SLURM_DIR / "slurm.conf").resolve():
        pytest.skip(f"the cluster answering is not scripts/slurm-local's ({conf})")
    text = conf.read_text()
    host = socket.gethostname().split(".")[0]
    assert f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} " in text and "Gres" not in text
    refused = subprocess.run(["sbatch", "--gpus=1", "--wrap", "true"], capture_output=True, text=True, env=cluster_env,
                             timeout=30)
    assert refused.returncode != 0 and "gres" in refused.stderr.lower()   # why slurm_local asks for no GPU
