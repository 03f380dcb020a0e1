"""Every "spec §n" cited in the package resolves to a section of docs/landscape-spec.md."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "landscape-spec.md"
CITE = re.compile(r"spec §(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)[. ]", re.M)


def _citations() -> dict[str, list[str]]:
    """{section: [file:line, ...]} of every citation in the code, configs, tests, benchmarks and docs."""
    out: dict[str, list[str]] = {}
    files = [ROOT / "README.md", *(p for top in ("src", "conf", "tests", "benchmarks", "docs")
                                   for p in sorted((ROOT / top).rglob("*")))]
    for path in files:
        if path.suffix not in (".py", ".yaml", ".md") or path == SPEC:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in CITE.finditer(line):
                out.setdefault(m.group(1).rstrip("."), []).append(f"{path.relative_to(ROOT)}:{n}")
    return out


def test_the_spec_copy_has_the_numbered_sections():
    sections = set(HEADING.findall(SPEC.read_text(encoding="utf-8")))
    assert {"1", "2.1", "5.2", "6.1", "11"} <= sections


def test_every_cited_section_exists():
    sections = set(HEADING.findall(SPEC.read_text(encoding="utf-8")))
    cites = _citations()
    assert len(cites) >= 20  # the package cites the spec throughout
    missing = {s: where[:3] for s, where in cites.items() if s not in sections}
    assert missing == {}, f"spec sections cited but absent from {SPEC.name}: {missing}"


ORIGINAL = ROOT.parent / "shared" / "landscape-spec.md"


@pytest.mark.skipif(not ORIGINAL.is_file(), reason="the original ../shared/landscape-spec.md is not beside the repo")
def test_the_copy_matches_the_original_when_present():
    original = ORIGINAL
    assert SPEC.read_bytes() == original.read_bytes(), "refresh docs/landscape-spec.md from ../shared"
