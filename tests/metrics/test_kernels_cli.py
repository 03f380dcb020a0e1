"""The commands that compute numbers outside training (reference statistics, the real-data floor, the
audit) run with the runs' kernels: ``--determinism portable`` by default, whatever the caller's
environment, and their statistics are keyed by the kernels (ganaudit.utils.determinism.kernels_in_force)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ganaudit
from ganaudit.utils.determinism import MODE_ENV, PORTABLE_ENV, mode_from_flag
from ganaudit.utils.errors import ConfigError

REFERENCE_WEIGHTS = Path(ganaudit.__file__).parent / "resources" / "digits_cnn.pt"


def _hostile_env() -> dict:
    """The caller's environment with none of the portable settings (and a cap that differs)."""
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_ENV and k != MODE_ENV}
    env["ATEN_CPU_CAPABILITY"] = "avx2"
    return env


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Prepared digits and the pinned reference digits CNN (with its sidecar), as `dvc repro` leaves them."""
    from ganaudit.cli.data import main as data_main
    from ganaudit.utils.hashing import sha256_file

    root = tmp_path_factory.mktemp("kernels")
    assert data_main(["prepare", "digits", "--out", str(root / "data" / "digits")]) == 0
    weights = root / "artifacts" / "weights"
    weights.mkdir(parents=True)
    shutil.copyfile(REFERENCE_WEIGHTS, weights / "digits_cnn.pt")
    (weights / "digits_cnn.pt.sha256").write_text(f"{sha256_file(weights / 'digits_cnn.pt')}  digits_cnn.pt\n")
    return root


def _refstats(root: Path, *extra: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "ganaudit.metrics.refstats", "digits", "--data-dir",
                          str(root / "data" / "digits"), "--artifacts", str(root / "artifacts"), *extra],
                         env=_hostile_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(600)
def test_refstats_restart_into_portable_and_key_by_kernels(prepared):
    portable = _refstats(prepared)  # started from an AVX2-capped, unpinned environment
    assert portable["kernels"] == "portable-cpu"
    fast = _refstats(prepared, "--determinism", "fast")
    assert fast["kernels"] == "fast-cpu" and fast["path"] != portable["path"]
    assert {p.name for p in (prepared / "artifacts" / "refstats" / "digits").glob("*.npz")} == \
        {Path(portable["path"]).name, Path(fast["path"]).name}


@pytest.mark.timeout(600)
def test_floor_is_the_same_bits_from_any_starting_environment(prepared):
    def floor(env: dict) -> float:
        out = subprocess.run([sys.executable, "-m", "ganaudit.metrics.floor", "digits", "--data-dir",
                              str(prepared / "data" / "digits"), "--artifacts", str(prepared / "artifacts")],
                             env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        rec = json.loads(out.stdout)
        assert rec["provenance"]["determinism"]["mode"] == "portable"
        return rec["fid"]

    calm = {**_hostile_env(), "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "AUTO"}
    first, second = floor(_hostile_env()), floor(calm)
    assert first == second and 40.0 < first < 80.0  # bit for bit; the real floor is ~55 on digits


def test_bad_mode_is_one_line_and_exit_2(prepared):
    out = subprocess.run([sys.executable, "-m", "ganaudit.metrics.floor", "digits", "--determinism", "exact"],
                         env=_hostile_env(), capture_output=True, text=True, timeout=120, cwd=prepared)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "'--determinism' = 'exact'" in out.stderr and "portable, fast" in out.stderr


def test_mode_from_flag():
    assert mode_from_flag(["digits"]) == "portable"
    assert mode_from_flag(["digits", "--determinism", "fast"]) == "fast"
    assert mode_from_flag(["--determinism=fast", "x"]) == "fast"
    assert mode_from_flag(["x"], default="fast") == "fast"
    with pytest.raises(ConfigError, match="--determinism"):
        mode_from_flag(["--determinism", "quick"])
