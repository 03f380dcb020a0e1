"""Fixtures for the data tests: prepared tiny stores in temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganaudit.data.prepare import prepare

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits_store(tmp_path_factory) -> tuple[Path, Path, dict]:
    """The full digits dataset prepared with the pinned settings but 128-image shards, and its own
    manifest dir: (data_dir, splits_dir, manifest)."""
    root = tmp_path_factory.mktemp("digits")
    manifest = prepare("digits", None, root / "store", splits_dir=root / "splits", shard_size=128,
                       progress=False)
    return root / "store", root / "splits", manifest
