"""Pinned weights: every extractor refuses missing files; the download keeps only a verified file."""

from __future__ import annotations

import hashlib
import io

import pytest

from ganaudit.cli import weights as weights_cli
from ganaudit.metrics import EXTRACTORS, fetch_weights, pins
from ganaudit.utils.errors import WeightsError


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
    assert weights_cli.main(["fetch", "inception", "--out", str(tmp_path)]) == 1  # a failure, not usage
    assert list(tmp_path.iterdir()) == []


def test_ensure_names_the_inception_pipeline_for_study_datasets(tmp_path, capsys):
    assert weights_cli.main(["ensure", "cifar10", "--out", str(tmp_path)]) == 1
    assert "weights/dvc.yaml:inception" in capsys.readouterr().err


def _fake_training(payload: bytes):
    """A stand-in for `digits_cnn train` that writes ``payload`` as the weights file."""
    from pathlib import Path

    def train(out, data_dir, **options):
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(payload)
        return {"sha256": hashlib.sha256(payload).hexdigest()}

    return train


def _reference_bytes() -> bytes:
    from pathlib import Path

    import ganaudit

    return (Path(ganaudit.__file__).parent / "resources" / "digits_cnn.pt").read_bytes()


def test_shipped_digits_reference_has_the_pinned_digest():
    import hashlib

    assert hashlib.sha256(_reference_bytes()).hexdigest() == pins.DIGITS_CNN_SHA256


def test_digits_weights_fall_back_to_the_reference_when_this_machine_rounds_differently(tmp_path, monkeypatch):
    import hashlib

    from ganaudit.metrics import digits_cnn
    from ganaudit.utils.hashing import sha256_file

    other = b"weights retrained on a CPU that rounds differently"
    monkeypatch.setattr(digits_cnn, "train_and_save", _fake_training(other))
    extra = fetch_weights._train_digits_or_reference(tmp_path, tmp_path / "data")
    assert extra["retrained_sha256"] == hashlib.sha256(other).hexdigest()
    assert sha256_file(tmp_path / "digits_cnn.pt") == pins.DIGITS_CNN_SHA256
    assert EXTRACTORS.get("digits_cnn")(tmp_path).weights_sha256 == pins.DIGITS_CNN_SHA256


def test_digits_weights_retrained_equal_to_the_pin_are_kept(tmp_path, monkeypatch):
    from ganaudit.metrics import digits_cnn

    monkeypatch.setattr(digits_cnn, "train_and_save", _fake_training(_reference_bytes()))
    extra = fetch_weights._train_digits_or_reference(tmp_path, tmp_path / "data")
    assert "retrained_sha256" not in extra


def test_digits_ensure_installs_the_reference_without_retraining(tmp_path, monkeypatch):
    """The main job's weights stage: the shipped pinned classifier, not a retraining (which the
    pin replaces on most CPUs anyway); ``retrain=True`` still retrains."""
    from ganaudit.metrics import digits_cnn
    from ganaudit.utils.hashing import sha256_file

    calls = []
    monkeypatch.setattr(digits_cnn, "train_and_save", lambda *a, **k: calls.append(a) or _fake_training(b"x")(*a))
    record = fetch_weights.ensure("digits", tmp_path, tmp_path / "data")
    assert calls == [] and record["source"] == "pinned reference shipped in the package"
    assert sha256_file(tmp_path / "digits_cnn.pt") == record["sha256"] == pins.DIGITS_CNN_SHA256
    (tmp_path / "digits_cnn.pt").write_bytes(b"a file that is not the pin")
    fetch_weights.ensure("digits", tmp_path, tmp_path / "data")  # replaced, not trusted
    assert sha256_file(tmp_path / "digits_cnn.pt") == pins.DIGITS_CNN_SHA256
    record = fetch_weights.ensure("digits", tmp_path, tmp_path / "data", retrain=True)
    assert len(calls) == 1 and record["retrained_sha256"] == hashlib.sha256(b"x").hexdigest()
