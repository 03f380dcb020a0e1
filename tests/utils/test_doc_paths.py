"""The README and docs/ name files and modules that exist, and the repository speaks of the project only.

Paths are checked in the forms the docs use: ``src/ganaudit/<path>`` and ``ganaudit/<path>`` (the package
folder; ``ganaudit/conf`` is the top-level conf/ shipped inside it), with ``{a,b}`` alternatives expanded;
dotted names (``ganaudit.metrics.floor``, ``ganaudit.metrics.provenance.summarize``) must import.
"""

from __future__ import annotations

import importlib
import itertools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# docs/landscape-spec.md is the study's text, not ours: it names the study's files, not this package's
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if p.name != "landscape-spec.md")]
PATH = re.compile(r"(?<![\w.-])(?:src/)?ganaudit/[\w./{},*-]*[\w/}]")
DOTTED = re.compile(r"(?<![\w./-])ganaudit(?:\.[A-Za-z_]\w*)+")


def _expand(path: str) -> list[str]:
    """``a/{b,c}.py`` -> ``[a/b.py, a/c.py]`` (any number of brace groups)."""
    parts = re.split(r"\{([^{}]*)\}", path)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


def _on_disk(path: str) -> Path:
    rel = path.removeprefix("src/").removeprefix("ganaudit/")
    if rel == "conf" or rel.startswith("conf/"):
        return ROOT / rel
    return ROOT / "src" / "ganaudit" / rel


def missing_paths(text: str) -> list[str]:
    out = []
    for named in sorted(set(PATH.findall(text))):
        for path in _expand(named.rstrip(".,")):
            if "*" in path or "<" in path:
                continue
            if not _on_disk(path).exists():
                out.append(path)
    return out


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def _doc_params():
    for doc in DOCS:
        yield pytest.param(doc, id=doc.relative_to(ROOT).as_posix())


@pytest.mark.parametrize("doc", _doc_params())
def test_named_paths_exist(doc):
    assert missing_paths(doc.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("doc", _doc_params())
def test_named_modules_import(doc):
    names = sorted(set(DOTTED.findall(doc.read_text(encoding="utf-8"))))
    assert [n for n in names if not _resolves(n)] == []


def test_the_checks_find_what_they_look_for():
    text = ("`src/ganaudit/axes/{losses,norms}.py`, `ganaudit/conf/dataset/`, `src/ganaudit/{config,nope}.py`, "
            "`ganaudit/utils/`.")
    assert missing_paths(text) == ["src/ganaudit/config.py", "src/ganaudit/nope.py"]
    assert _resolves("ganaudit.metrics.provenance.summarize")
    assert not _resolves("ganaudit.metrics.evaluate.summarize")
    assert DOTTED.findall("python -m ganaudit.metrics.floor digits") == ["ganaudit.metrics.floor"]


# "issue", "session" or "habit" and a number: a development diary's words, which a reader cannot open.
DIARY = re.compile(r"\b(?:[Ii]ssues?|[Ss]ession|[Hh]abit)s? #?\d+")
SPOKEN = ["README.md", "CHANGELOG.md", "dvc.yaml", "params.yaml", "pyproject.toml", "data.dvc", ".dvcignore", "docs",
          "benchmarks", "tests", "conf", "src", "weights", "audits", "scripts", ".ci"]


def _diary_lines() -> list[str]:
    found = []
    for top in SPOKEN:
        base = ROOT / top
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if (path.suffix not in (".md", ".py", ".yaml", ".yml", ".txt", ".toml", ".sh", ".dvc", ".dvcignore", "")
                    or path.name == "landscape-spec.md" or "__pycache__" in path.parts):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if DIARY.search(line):
                    found.append(f"{path.relative_to(ROOT).as_posix()}:{n}: {line.strip()[:100]}")
    return found


def test_the_repository_speaks_of_the_project_only():
    assert _diary_lines() == []


def test_the_diary_pattern_matches_diary_words():
    number = "11"  # kept apart, so this file's own lines do not read as a diary
    assert DIARY.search("see issue " + number) and DIARY.search("(Session " + number + ")")
    assert DIARY.search("STYLE habit " + number)
    assert not DIARY.search("a known issue of the study") and not DIARY.search("one session per run")
