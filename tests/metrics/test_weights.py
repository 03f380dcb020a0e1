"""Pinned weights: every extractor refuses missing files; the download keeps only a verified file."""

from __future__ import annotations

import io

import pytest

from ganaudit.errors import WeightsError
from ganaudit.metrics import EXTRACTORS, fetch_weights, pins


@pytest.mark.parametrize("name", EXTRACTORS.names())
def test_every_extractor_refuses_missing_weights_and_says_how_to_get_them(tmp_path, name):
    with pytest.raises(WeightsError, match="Get it with: `dvc repro"):
        EXTRACTORS.get(name)(tmp_path)


def test_download_with_wrong_hash_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch_weights.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not the weights"))
    with pytest.raises(WeightsError, match=pins.INCEPTION_SHA256_PREFIX):
        fetch_weights.fetch("inception", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_failure_is_a_weights_error(tmp_path, monkeypatch):
    def refuse(url, timeout):
        raise OSError("offline")

    monkeypatch.setattr(fetch_weights.urllib.request, "urlopen", refuse)
    assert fetch_weights.main(["fetch", "inception", "--out", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_ensure_names_the_inception_pipeline_for_study_datasets(tmp_path, capsys):
    assert fetch_weights.main(["ensure", "cifar10", "--out", str(tmp_path)]) == 2
    assert "weights/dvc.yaml:inception" in capsys.readouterr().err
