"""A clean (non-editable) install: the wheel ships the configs and the console script, and from a
directory outside the repository a train config composes and ``ganaudit describe`` / the Hydra apps
run against the installed package alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built (offline, no build isolation) from a copy of the source tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for tree in ("src", "conf"):
        shutil.copytree(ROOT / tree, src / tree, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src),
                    "-w", str(tmp / "dist")], check=True, capture_output=True, timeout=240)
    (found,) = (tmp / "dist").glob("ganaudit-*.whl")
    return found


def test_every_package_folder_is_listed_for_setuptools():
    """pyproject lists the packages (conf/ is mapped, so packages.find cannot be used): none forgotten."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src").rglob("__init__.py")}
    assert listed == found | {"ganaudit.conf"}


def test_wheel_ships_every_config_and_the_console_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"ganaudit/conf/{p.relative_to(CONF).as_posix()}" for p in CONF.rglob("*.yaml")}
    assert len(expected) > 60 and {"ganaudit/conf/config.yaml", "ganaudit/conf/evaluate.yaml",
                                   "ganaudit/conf/experiment/kurach2019/hub13.yaml"} <= expected
    assert expected <= names, sorted(expected - names)[:5]
    assert "ganaudit/conf/__init__.py" in names  # pkg://ganaudit.conf is an importable package
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[console_scripts]" in text and "ganaudit = ganaudit.cli.main:main" in text


def test_installed_package_runs_from_outside_the_repository(wheel, tmp_path):
    target, outside = tmp_path / "target", tmp_path / "elsewhere"
    outside.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("GANAUDIT_CONF", "GANAUDIT_ROOT")}
    env["PYTHONPATH"] = str(target)  # dependencies still come from site-packages

    def run(*cmd: str) -> str:
        proc = subprocess.run(cmd, cwd=outside, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    probe = ("import ganaudit, json; from ganaudit.training.config import compose; "
             "c = compose(['experiment=kurach2019/hub13']); "
             "print(json.dumps([ganaudit.__file__, c.arch.name, c.dataset.name, c.optim.n_dis]))")
    where, arch, dataset, n_dis = json.loads(run(sys.executable, "-c", probe))
    assert Path(where).is_relative_to(target) and (arch, dataset, n_dis) == ("resnet_cifar", "cifar10", 5)
    described = json.loads(run(str(target / "bin" / "ganaudit"), "describe", "arch=sndcgan", "arch.width=0.125"))
    assert described["generator_output_shape"] == [2, 3, 32, 32] and described["config"]["dataset"]["name"] == "digits"
    # a Hydra app resolves pkg://ganaudit.conf from the install; a user directory adds options to it
    mine = tmp_path / "myconf" / "experiment"
    mine.mkdir(parents=True)
    (mine / "mine.yaml").write_text("# @package _global_\nseed: 77\n")
    job = run(sys.executable, "-m", "ganaudit.train", "--cfg", "job", "--config-dir", str(mine.parent),
              "experiment=mine", "trainer=smoke")
    assert "seed: 77" in job and "d_steps: 20" in job
    assert sorted(p.name for p in outside.iterdir()) == []  # --cfg job writes nothing
