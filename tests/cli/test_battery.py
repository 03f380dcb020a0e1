"""A battery of bad inputs, one row each, across every class of refusal (docs/CONTRACTS.md, "Errors
and exit codes"): for each, the exit code, a one-line ``error: ...`` that names the thing, no traceback,
and nothing already computed changed: every file and folder under a prepared world (digits data,
extractor weights, a finished run, a results store) has the same path, size, mtime and inode before and
after (:func:`digest`), so a stray run folder or a rewritten file counts as a change.

Most rows call ``ganaudit.cli.main.main`` in this process (the same dispatch as the console script,
without the determinism restart: the rows that would train or evaluate pass ``determinism=fast``);
rows marked ``SUB`` run the real command in a subprocess, where the interpreter's own exit code and
stderr are what a user sees. To add a row, append a :class:`Case` to ``CASES``. In its arguments and
message, ``{w}`` is the world's root, ``{run}`` its finished run directory, ``{name}`` and ``{hash}``
that directory's name and config hash, ``{scratch}`` a folder beside the world (a planted run whose
checkpoints are compared too); ``hold`` names a directory whose lock the test holds during the call, as
a concurrent writer would.

Every row also checks that ``evil.pt``, a pickle whose ``__reduce__`` creates ``MARKER`` under the
world, never ran. The signal classes (SIGTERM and SIGINT end a run ``interrupted``, exit 143 and 130,
and a rerun resumes bit for bit) need a live training and stay in
``tests/training/test_signals_and_locks.py``, ``tests/study/test_study_signals.py`` and
``tests/utils/test_signals.py``; the run-directory lock against a second real process is there too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganaudit.cli.main import main as ganaudit
from ganaudit.data.prepare import prepare
from ganaudit.utils.locks import exclusive

REPO = Path(__file__).resolve().parents[2]
DIGITS_CNN = REPO / "src" / "ganaudit" / "resources" / "digits_cnn.pt"
pytestmark = pytest.mark.timeout(300)

FAST = "determinism=fast"
TINY = ["arch.width=0.0625", "trainer.batch_size=4", "trainer.d_steps=2", "trainer.checkpoint_every=1",
        "trainer.progress_bar=false", "eval.enabled=false", FAST]
IN, SUB = "in-process", "subprocess"
MARKER = "code-ran.marker"  # what unpickling evil.pt would create under the world
PICKLE = "loads only by full unpickling"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="refused only where torch has no CUDA device")
NOT_ROOT = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                              reason="root writes into a 0500 directory anyway: nothing to refuse")


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` of ``ganaudit`` (``{w}`` = the world root), the exit code, substrings the
    one-line message must hold; ``env`` set for the call; ``how`` in-process or subprocess; ``hold`` a
    directory locked by the test during the call."""

    id: str
    argv: list[str]
    code: int
    says: tuple[str, ...]
    env: dict = field(default_factory=dict)
    how: str = IN
    marks: tuple = ()
    hold: str = ""


CASES = [
    # -- usage errors of a Hydra command, before Hydra starts (round one)
    Case("train-unknown-loss", ["train", "loss=nope"], 2, ("unknown loss 'nope'", "hinge, ls")),
    Case("train-lr-range", ["train", "optim.lr=-1"], 2, ("optim.lr", "learning rate > 0")),
    Case("train-unknown-key", ["train", "+trainer.stepz=5"], 2, ("trainer.stepz",)),
    Case("train-seed-not-int", ["train", "seed=abc"], 2, ("'seed'", "integer")),
    Case("train-data-seed-range", ["train", "data_seed=-1"], 2, ("data_seed", "[0, 2**32)")),
    Case("train-arch-norm", ["train", "arch=sndcgan", "norm=batch"], 2, ("norm 'batch'", "none, spectral")),
    Case("train-batch-1", ["train", "trainer.batch_size=1"], 2, ("trainer.batch_size", ">= 2")),
    Case("train-bad-mode", ["train", "determinism=quick"], 2, ("determinism", "portable, fast")),
    Case("describe-arch-norm", ["describe", "arch=sndcgan", "norm=batch"], 2, ("norm 'batch'",)),
    Case("describe-unknown-dataset", ["describe", "dataset=mnist"], 2, ("dataset", "mnist")),
    Case("study-unknown", ["study", "study=nope"], 2, ("unknown study 'nope'", "demo")),
    Case("unknown-subcommand", ["trian"], 2, ("unknown subcommand 'trian'", "train")),
    # -- argparse commands (round one)
    Case("verdict-fid-not-number", ["audit", "verdict", "--claim-fid", "abc", "x.npz"], 2, ("--claim-fid", "abc")),
    Case("floor-unknown-dataset", ["floor", "mnist"], 2, ("mnist",)),
    Case("data-unknown-action", ["data", "shuffle", "digits"], 2, ("shuffle",)),
    # -- evaluate: options and sample files
    Case("evaluate-no-samples", ["evaluate", FAST], 2, ("samples=",)),
    Case("evaluate-bad-range", ["evaluate", "samples={w}/black.npy", "dataset=digits", "samples_range=0,2", FAST],
         2, ("samples_range", "0,255")),
    Case("evaluate-missing-file", ["evaluate", "samples={w}/nope.npz", "dataset=digits", FAST], 1, ("nope.npz",)),
    Case("evaluate-no-dataset", ["evaluate", "samples={w}/black.npy", FAST], 2, ("dataset=<name>",)),
    Case("evaluate-unknown-protocol", ["evaluate", "samples={w}/black.npy", "dataset=digits", "protocol=nope", FAST],
         2, ("protocol", "nope")),
    Case("evaluate-wrong-count", ["evaluate", "samples={w}/few.npy", "dataset=digits", FAST], 1,
         ("needs exactly 500",)),
    # -- tracebacks that were shown: sample folders, renamed checkpoints, devices, output paths
    Case("png-corrupt", ["evaluate", "samples={w}/png_corrupt", "dataset=digits", FAST], 1,
         ("0250.png", "cannot be read as an image")),
    Case("png-truncated", ["evaluate", "samples={w}/png_truncated", "dataset=digits", FAST], 1,
         ("0100.png", "truncated")),
    Case("ckpt-as-npy", ["evaluate", "samples={w}/ck.npy", "dataset=digits", FAST], 1,
         ("ck.npy", "PyTorch checkpoint", ".ckpt")),
    Case("ckpt-as-npz", ["evaluate", "samples={w}/ck.npz", "dataset=digits", FAST], 1,
         ("ck.npz", "PyTorch checkpoint", "expected a numpy .npz")),
    Case("ckpt-as-txt", ["evaluate", "samples={w}/ck.txt", "dataset=digits", FAST], 1,
         ("'.txt'", "PyTorch checkpoint")),
    Case("ckpt-as-png", ["evaluate", "samples={w}/ck.png", "dataset=digits", FAST], 1,
         ("'.png'", "PyTorch checkpoint")),
    Case("one-png-file", ["evaluate", "samples={w}/png_ok/0000.png", "dataset=digits", FAST], 1,
         ("one PNG image", "folder")),
    Case("evaluate-device-gpu", ["evaluate", "samples={w}/black.npy", "dataset=digits", "device=gpu", FAST], 2,
         ("'device' = 'gpu'", "cuda:N")),
    Case("evaluate-device-cuda", ["evaluate", "samples={w}/black.npy", "dataset=digits", "device=cuda", FAST], 2,
         ("'device' = 'cuda'", "no CUDA device"), marks=(NO_CUDA,)),
    Case("train-accelerator-gpu", ["train", "trainer.accelerator=gpu", *TINY[:-1], FAST, "paths.root={w}"], 2,
         ("trainer.accelerator", "no CUDA device"), marks=(NO_CUDA,)),
    Case("train-device-env", ["train", *TINY, "paths.root={w}"], 2, ("$GANAUDIT_DEVICE", "no CUDA device"),
         env={"GANAUDIT_DEVICE": "cuda"}, marks=(NO_CUDA,)),
    Case("verdict-device", ["audit", "verdict", "--claim-fid", "10", "--device", "cuda", "{w}/black.npy"], 2,
         ("'--device' = 'cuda'",), marks=(NO_CUDA,)),
    Case("runs-below-file", ["train", *TINY, "paths.runs={w}/afile/runs"], 1,
         ("run directory", "afile", "not a writable directory")),
    Case("hydra-run-dir-below-file", ["train", *TINY, "paths.root={w}", "hydra.run.dir={w}/afile/x"], 1,
         ("run directory", "afile/x")),
    Case("runs-unwritable", ["train", *TINY, "paths.runs={w}/readonly/runs"], 1, ("run directory", "readonly"),
         marks=(NOT_ROOT,)),
    Case("study-results-below-file", ["study", "study=smoke", "results_dir={w}/afile/res"], 1,
         ("study results directory", "afile")),
    Case("evaluate-record-below-file", ["evaluate", "samples={w}/black.npy", "dataset=digits",
                                        "record={w}/afile/r.jsonl", "samples_range=0,255", FAST], 1,
         ("record file", "afile")),
    # -- misleading messages
    Case("black-uint8", ["evaluate", "samples={w}/black.npy", "dataset=digits", "paths.root={w}", FAST], 1,
         ("samples_range=0,255", "all black")),
    Case("black-float", ["evaluate", "samples={w}/blackf.npy", "dataset=digits", "paths.root={w}", FAST], 1,
         ("samples_range=0,1", "samples_range=0,255")),
    Case("255-named-01", ["evaluate", "samples={w}/f255.npy", "dataset=digits", "samples_range=0,1",
                          "paths.root={w}", FAST], 1, ("expected [0, 1]", "leave samples_range unset")),
    Case("tanh-named-255", ["evaluate", "samples={w}/tanh.npy", "dataset=digits", "samples_range=0,255",
                            "paths.root={w}", FAST], 1, ("expected [0, 255]",)),
    Case("verdict-dataset-flag", ["audit", "verdict", "--claim-fid", "10", "{w}/black.npy"], 2,
         ("--dataset <name>",)),
    Case("verdict-no-samples-range", ["audit", "verdict", "--claim-fid", "10", "--dataset", "digits",
                                      "--root", "{w}", "--artifacts", "{w}/artifacts", "{w}/black.npy"], 1,
         ("samples_range=0,255", "option of ganaudit evaluate")),
    Case("compare-no-fid-columns", ["audit", "compare", "{w}/runs.csv", "{w}/nofid.csv"], 2,
         ("nofid.csv", "'fid_min', 'fid_final'")),
    Case("compare-not-runs-csv", ["audit", "compare", "{w}/runs.csv", "{w}/other.csv"], 2, ("'key'",)),
    Case("width-huge", ["train", *TINY, "arch.width=1e9", "paths.root={w}"], 2,
         ("configuration too large", "arch.width")),
    Case("width-large", ["train", "arch.width=300", *TINY[1:], "paths.root={w}"], 2,
         ("parameters", "GiB", "arch.width")),
    Case("z-dim-huge", ["train", "arch.z_dim=100000000000", *TINY, "paths.root={w}"], 2,
         ("configuration too large", "z_dim")),
    Case("batch-over-data", ["train", *TINY, "trainer.batch_size=100000", "paths.root={w}"], 2,
         ("trainer.batch_size", "1297")),
    Case("train-no-weights", ["train", *TINY[:-2], "eval.enabled=true", FAST, "paths.root={w}",
                              "eval.artifacts_dir={w}/empty_artifacts"], 1,
         ("digits_cnn weights not found", "ganaudit weights ensure digits")),
    Case("train-data-unprepared", ["train", *TINY, "seed=7", "paths.root={w}", "paths.data={w}/nodata"], 1,
         ("nodata",)),
    Case("train-record-below-file", ["train", *TINY[:-2], "eval.enabled=true", FAST, "seed=7", "paths.root={w}",
                                     "eval.record_path={w}/afile/r.jsonl"], 1, ("eval.record_path", "afile")),
    Case("explain-out-below-file", ["audit", "explain", "--claim-fid", "10", "--out", "{w}/afile/x", "{w}/black.npy"],
         1, ("--out folder", "afile")),
    # -- a study file refused inside the Hydra app: its output folder is removed
    Case("study-duplicate-seeds", ["study", "study=smoke", "study.seeds=[0,0]", "results_dir={w}/results"], 2,
         ("study.seeds = [0, 0]", "distinct integer seeds")),
    Case("study-seed-not-int", ["study", "study=smoke", "study.seeds=[abc]", "results_dir={w}/results"], 2,
         ("study.seeds[0] = 'abc'", "integer")),
    # -- untrusted files: a pickle is refused unless trusted, and nothing in it runs
    Case("evaluate-untrusted-pickle", ["evaluate", "samples={w}/evil.pt", "dataset=digits", FAST], 2,
         ("checkpoint '{w}/evil.pt'", PICKLE, "arbitrary code", "trust_pickle=true")),
    Case("verdict-untrusted-pickle", ["audit", "verdict", "--claim-fid", "3", "--dataset", "digits", "{w}/evil.pt"],
         2, (PICKLE, "--trust-pickle")),
    Case("explain-untrusted-pickle", ["audit", "explain", "--claim-fid", "3", "--dataset", "digits", "{w}/evil.pt"],
         2, (PICKLE, "--trust-pickle")),
    Case("train-resume-untrusted-pickle", ["train", *TINY, "seed=5", "paths.root={w}", "paths.runs={scratch}/runs"],
         1, ("checkpoint '{scratch}/runs/{hash}-s5/checkpoints/last.ckpt'", PICKLE,
             "which ganaudit's own checkpoints never need")),
    # -- concurrency: a run directory another process holds
    Case("train-run-dir-locked", ["train", *TINY, "seed=6", "paths.root={w}"], 1,
         ("run directory '{w}/runs/", "-s6' is in use by another process (pid", "wait until that process ends"),
         hold="{w}/runs/{hash}-s6"),
    Case("study-results-store-locked", ["study", "study=smoke", "results_dir={w}/results"], 1,
         ("results store '{w}/results' is in use by another process (pid", "finished runs are kept"),
         hold="{w}/results"),
    # -- forged inputs: a checkpoint whose stored config hash was edited
    Case("verdict-forged-hash", ["audit", "verdict", "--claim-fid", "3", "{w}/forged/checkpoints/last.ckpt"], 1,
         ("checkpoint '{w}/forged/checkpoints/last.ckpt'", "0000000000000000")),
    Case("evaluate-forged-hash", ["evaluate", "samples={w}/forged/checkpoints/last.ckpt", "dataset=digits", FAST], 1,
         ("checkpoint '{w}/forged/checkpoints/last.ckpt'", "0000000000000000")),
    Case("explain-forged-hash", ["audit", "explain", "--claim-fid", "3", "{w}/forged/checkpoints/last.ckpt"], 1,
         ("checkpoint '{w}/forged/checkpoints/last.ckpt'", "0000000000000000")),
    # -- the reviewer's numbers: an impossible claimed FID, one seed passed twice
    Case("verdict-claim-negative", ["audit", "verdict", "--claim-fid=-3", "{run}"], 2,
         ("'--claim-fid' = -3.0", "expected a finite FID >= 0")),
    Case("verdict-claim-nan", ["audit", "verdict", "--claim-fid=nan", "{run}"], 2,
         ("'--claim-fid' = nan", "expected a finite FID >= 0")),
    Case("explain-claim-inf", ["audit", "explain", "--claim-fid=inf", "{run}"], 2,
         ("'--claim-fid' = inf", "expected a finite FID >= 0")),
    Case("verdict-same-file-contents", ["audit", "verdict", "--claim-fid", "20", "--dataset", "digits", "{w}/s.npz",
                                        "{w}/copy.npz"], 2,
         ("'{w}/s.npz' and '{w}/copy.npz' are the same seed (same file contents)",)),
    Case("explain-same-file-contents", ["audit", "explain", "--claim-fid", "20", "--dataset", "digits", "{w}/s.npz",
                                        "{w}/s.npz"], 2, ("are the same seed (same file contents)",)),
    Case("verdict-same-run-dir", ["audit", "verdict", "--claim-fid", "20", "{run}", "{w}/runs/./{name}"], 2,
         ("are the same seed (same run directory)",)),
    # -- unknown keys, with or without '+': the nearest names, and the key as it was typed
    Case("evaluate-unknown-key-plus", ["evaluate", "samples=x.npz", "+protocl=1", FAST], 2,
         ("unknown option 'protocl'", "nearby: protocol", "(added with '+protocl=...')")),
    Case("evaluate-unknown-key", ["evaluate", "samples=x.npz", "protocl=1", FAST], 2,
         ("unknown option 'protocl'", "nearby: protocol", "(set with 'protocl=...'; a '+' would not")),
    Case("train-unknown-key-plus", ["train", "trainer=smoke", "+trainer.d_stepz=1"], 2,
         ("unknown option 'trainer.d_stepz'", "trainer.d_steps", "(added with '+trainer.d_stepz=...')")),
    Case("train-unknown-key-plain", ["train", "trainer=smoke", "trainer.d_stepz=1"], 2,
         ("unknown option 'trainer.d_stepz'", "trainer.d_steps", "(set with 'trainer.d_stepz=...'")),
    Case("describe-unknown-key-plus", ["describe", "+arch.widht=1"], 2,
         ("unknown option 'arch.widht'", "arch.width", "(added with '+arch.widht=...')")),
    Case("describe-unknown-key", ["describe", "arch.widht=1"], 2,
         ("unknown option 'arch.widht'", "arch.width", "(set with 'arch.widht=...'")),
    # -- the same, as a user's shell sees them
    Case("sub-ckpt-as-npy", ["evaluate", "samples={w}/ck.npy", "dataset=digits"], 1, ("PyTorch checkpoint",), how=SUB),
    Case("sub-seed-abc", ["train", "seed=abc"], 2, ("'seed'",), how=SUB),
    Case("sub-runs-below-file", ["train", "trainer=smoke", "paths.runs={w}/afile/runs"], 1, ("afile",), how=SUB),
]


class _Planted:
    """Pickles as ``open(marker, "w")``: loading the file with full unpickling creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _png(path: Path, seed: int) -> None:
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A prepared world: digits data, the extractor weights, a finished tiny run, sample files of every
    bad kind, a results CSV; built once for the battery."""
    w = tmp_path_factory.mktemp("world")
    prepare("digits", None, w / "data" / "prepared" / "digits", splits_dir=w / "splits", shard_size=256,
            progress=False)
    (w / "artifacts" / "weights").mkdir(parents=True)
    shutil.copy(DIGITS_CNN, w / "artifacts" / "weights" / "digits_cnn.pt")
    old = Path.cwd()
    os.chdir(w)
    try:
        assert ganaudit(["train", *TINY, f"paths.root={w}"]) == 0
    finally:
        os.chdir(old)
    ckpt = next((w / "runs").glob("*/checkpoints/last.ckpt"))
    torch.save({"generator": _Planted(w / MARKER)}, w / "evil.pt")
    # a run stopped early, then planted; outside the world, as a refused resume writes Hydra's .hydra/ and
    # train.log into its run folder as any resume does (its checkpoints are compared instead)
    stopped = w.parent / "scratch" / "runs" / ckpt.parents[1].name.replace("-s0", "-s5")
    (stopped / "checkpoints").mkdir(parents=True)
    shutil.copy(w / "evil.pt", stopped / "checkpoints" / "last.ckpt")
    with exclusive(stopped, what="run directory"):
        pass  # its earlier holder left the lock file, as any run does
    forged = torch.load(ckpt, map_location="cpu", weights_only=True)
    forged["ganaudit"]["config_hash"] = "0" * 16
    (w / "forged" / "checkpoints").mkdir(parents=True)
    torch.save(forged, w / "forged" / "checkpoints" / "last.ckpt")
    np.savez(w / "s.npz", images=np.zeros((4, 8, 8, 3), np.uint8))
    shutil.copy(w / "s.npz", w / "copy.npz")
    for suffix in ("npy", "npz", "txt", "png"):
        shutil.copy(ckpt, w / f"ck.{suffix}")
    (w / "png_ok").mkdir()
    for i in range(500):
        _png(w / "png_ok" / f"{i:04d}.png", i)
    for name in ("png_corrupt", "png_truncated"):
        shutil.copytree(w / "png_ok", w / name)
    (w / "png_corrupt" / "0250.png").write_bytes(b"not a png")
    data = (w / "png_truncated" / "0100.png").read_bytes()
    (w / "png_truncated" / "0100.png").write_bytes(data[: len(data) // 2])
    np.save(w / "black.npy", np.zeros((500, 32, 32, 3), np.uint8))
    np.save(w / "blackf.npy", np.zeros((500, 3, 32, 32), np.float32))
    np.save(w / "few.npy", np.full((10, 32, 32, 3), 128, np.uint8))
    rng = np.random.default_rng(0)
    np.save(w / "f255.npy", rng.uniform(0, 255, (500, 3, 32, 32)).astype(np.float32))
    np.save(w / "tanh.npy", rng.uniform(-1, 1, (500, 3, 32, 32)).astype(np.float32))
    (w / "afile").write_text("a regular file\n")
    (w / "readonly").mkdir(mode=0o500)
    shutil.copy(REPO / "audits" / "reports" / "demo" / "runs.csv", w / "runs.csv")
    lines = (REPO / "audits" / "reports" / "demo" / "runs.csv").read_text().splitlines()
    (w / "nofid.csv").write_text("\n".join(",".join(line.split(",")[:15]) for line in lines) + "\n")
    (w / "other.csv").write_text("a,b\n1,2\n")
    return w


def digest(root: Path) -> str:
    """A fingerprint of everything under ``root``: every path (folders too, so an empty stray folder
    counts) and each file's size, modification time (ns) and inode. Any write to a file sets its mtime,
    and a replaced file has a new inode, so this sees every change a byte hash would (and a rewrite of
    the same bytes), at a stat per file instead of a read: the world's 40 MB are fingerprinted twice a
    row."""
    entries = []
    for folder, dirs, files in os.walk(root):
        entries.extend((os.path.join(folder, d), "dir") for d in dirs)
        for f in files:
            st = os.lstat(os.path.join(folder, f))
            entries.append((os.path.join(folder, f), st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino))
    return hashlib.sha256(repr(sorted(entries)).encode()).hexdigest()


def _run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = ganaudit(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def _run_subprocess(argv: list[str], w: Path, env: dict) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "ganaudit", *argv], cwd=w, capture_output=True, text=True,
                          timeout=240, env={**os.environ, **env})
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(case: Case, world: Path, capsys, monkeypatch):
    run = next((world / "runs").glob("*-s0"))
    names = {"{w}": str(world), "{run}": str(run), "{name}": run.name, "{hash}": run.name.rsplit("-s", 1)[0],
             "{scratch}": str(world.parent / "scratch")}
    planted = world.parent / "scratch" / "runs" / f"{names['{hash}']}-s5" / "checkpoints"

    def fill(text: str) -> str:
        for key, value in names.items():
            text = text.replace(key, value)
        return text

    argv = [fill(a) for a in case.argv]
    monkeypatch.chdir(world)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    with exclusive(fill(case.hold)) if case.hold else nullcontext():
        before = digest(world), digest(planted)
        code, err = _run_subprocess(argv, world, case.env) if case.how == SUB else _run_in_process(argv, capsys)
        after = digest(world), digest(planted)
    assert not (world / MARKER).exists(), "a pickle's code ran"
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == case.code, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    for text in case.says:
        assert fill(text) in lines[0], lines[0]
    assert after == before, "a refused command changed or added files under the world"


def test_battery_covers_forty_inputs_and_both_ways_of_running():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
    assert {c.how for c in CASES} == {IN, SUB} and {c.code for c in CASES} == {1, 2}
    # the classes beside the usage errors and the old tracebacks each have rows of their own
    for part in ("untrusted-pickle", "locked", "forged-hash", "claim-", "same-", "unknown-key", "below-file"):
        assert sum(part in c.id for c in CASES) >= 2, part


def test_a_refusal_inside_train_removes_only_what_hydra_made(tmp_path, monkeypatch, capsys):
    # the run folder (and its parent) that Hydra made for a refused run go; an empty folder the user had stays
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    code, err = _run_in_process(["train", *TINY, "paths.data=nodata"], capsys)
    assert code == 1 and "nodata" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"] and not any((tmp_path / "runs").iterdir())
    code, err = _run_in_process(["train", *TINY, "paths.data=nodata", f"paths.runs={tmp_path}/new/deeper"], capsys)
    assert code == 1 and not (tmp_path / "new").exists()
