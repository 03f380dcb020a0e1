"""The source checkout ganaudit runs from, and the code version recorded with every run and number.

``code_version()`` is ``<package version>+g<12-hex commit>`` in a git checkout, with ``.dirty``
appended only when the *code* differs from that commit: a tracked file under ``src/`` or
``pyproject.toml`` is modified (staged or not), or an untracked, not-ignored file sits under ``src/``.
Files the pipeline itself rewrites (``dvc.lock``, ``audits/reports/...``, ``params.yaml`` edited by
``dvc exp run -S``) do not make the code dirty, so a fresh clone running ``dvc repro`` records a clean
version. Outside a checkout (an installed wheel) it is the package version alone.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import ganaudit

__all__ = ["CODE_PATHS", "repo_root", "code_version"]

# What "the code" is, relative to the repository root (git pathspecs).
CODE_PATHS: tuple[str, ...] = ("src", "pyproject.toml")

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../src/ganaudit


def repo_root() -> Path | None:
    """The repository root (``<root>/src/ganaudit`` is this package and ``<root>/pyproject.toml``
    exists), or None when ganaudit is installed outside a source checkout."""
    root = _PACKAGE_DIR.parents[1]
    if _PACKAGE_DIR.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10,
                          check=True).stdout.strip()


def describe_code(root: Path, version: str, paths: tuple[str, ...] = CODE_PATHS) -> str:
    """``<version>+g<sha12>[.dirty]`` for the git checkout at ``root`` (``version`` alone if ``root``
    is not a git work tree or git is missing). Dirty means ``git status`` lists something under
    ``paths``: modified or staged tracked files, or untracked files that are not ignored."""
    try:
        sha = _git(root, "rev-parse", "--short=12", "HEAD")
        changed = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{sha}{'.dirty' if changed else ''}"


@lru_cache(maxsize=1)
def code_version() -> str:
    """The code version of the running ganaudit (see the module docstring); computed once per process."""
    root = repo_root()
    return describe_code(root, ganaudit.__version__) if root is not None else ganaudit.__version__
