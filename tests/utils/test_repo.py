"""The code version: dirty only when the code (src/, pyproject.toml) differs from HEAD."""

import shutil
import subprocess
from pathlib import Path

import pytest

from ganaudit.utils.repo import code_version, describe_code, repo_root

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A committed tree shaped like the project: src/pkg/mod.py, pyproject.toml, dvc.lock, audits/."""
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (tmp_path / "dvc.lock").write_text("stages: {}\n")
    (tmp_path / "audits").mkdir()
    (tmp_path / "audits" / "report.md").write_text("old\n")
    (tmp_path / ".gitignore").write_text("__pycache__/\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return tmp_path


def test_clean_checkout_has_the_commit_and_no_dirty_mark(checkout):
    sha = _git(checkout, "rev-parse", "--short=12", "HEAD")
    assert describe_code(checkout, "1.2") == f"1.2+g{sha}"


def test_pipeline_outputs_do_not_make_the_code_dirty(checkout):
    (checkout / "dvc.lock").write_text("stages: {train: {}}\n")        # what dvc repro rewrites
    (checkout / "audits" / "report.md").write_text("new\n")
    (checkout / "runs").mkdir()
    (checkout / "runs" / "result.json").write_text("{}")               # untracked outputs
    (checkout / "src" / "pkg" / "__pycache__").mkdir()
    (checkout / "src" / "pkg" / "__pycache__" / "mod.pyc").write_bytes(b"\0")  # ignored
    assert not describe_code(checkout, "1.2").endswith(".dirty")


@pytest.mark.parametrize("change", ["edit_src", "stage_src", "new_src_file", "edit_pyproject"])
def test_code_changes_make_it_dirty(checkout, change):
    if change == "edit_src":
        (checkout / "src" / "pkg" / "mod.py").write_text("x = 2\n")
    elif change == "stage_src":
        (checkout / "src" / "pkg" / "mod.py").write_text("x = 3\n")
        _git(checkout, "add", "src/pkg/mod.py")
    elif change == "new_src_file":
        (checkout / "src" / "pkg" / "extra.py").write_text("y = 1\n")
    else:
        (checkout / "pyproject.toml").write_text("[project]\nname = 'pkg2'\n")
    assert describe_code(checkout, "1.2").endswith(".dirty")


def test_outside_a_git_work_tree_the_version_stands_alone(tmp_path):
    assert describe_code(tmp_path, "1.2") == "1.2"


def test_this_checkout_is_found_and_versioned():
    root = repo_root()
    assert root is not None and (root / "src" / "ganaudit" / "utils" / "repo.py").is_file()
    import ganaudit

    assert code_version().startswith(ganaudit.__version__)
