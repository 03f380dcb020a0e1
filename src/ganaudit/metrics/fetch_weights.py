"""Pinned feature-extractor weights: download (``fetch``) and per-dataset readiness (``ensure``).

    python -m ganaudit.metrics.fetch_weights fetch inception --out artifacts/weights   # weights/dvc.yaml:inception
    python -m ganaudit.metrics.fetch_weights ensure <dataset> --out artifacts/weights  # stage weights@<dataset>

``ensure`` trains the digits classifier for ``digits`` and checks the Inception file otherwise, then
writes ``<out>/<dataset>.json`` = {extractor, file, sha256} (the DVC-tracked record).

The file is downloaded to a temporary name, its sha256 checked against the pin
(``ganaudit.metrics.pins``), and only then renamed into place; a mismatch leaves nothing behind.
"""

from __future__ import annotations

import logging
import shutil
import urllib.request
from pathlib import Path

from ganaudit.metrics import digits_cnn, pins
from ganaudit.metrics.features import EXTRACTORS
from ganaudit.metrics.inception import INCEPTION_WEIGHTS
from ganaudit.metrics.protocols import protocol_for
from ganaudit.metrics.weights import verify_weights
from ganaudit.utils.errors import WeightsError
from ganaudit.utils.hashing import sha256_file
from ganaudit.utils.io import atomic_path, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)
SOURCES = {"inception": (pins.INCEPTION_URL, pins.INCEPTION_FILENAME)}


def fetch(name: str, out_dir: Path) -> Path:
    """Download weights ``name`` into ``out_dir`` and verify them; returns the final path."""
    url, filename = SOURCES[name]
    final = out_dir / filename
    with atomic_path(final) as tmp:  # removed again if the download or the check fails
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as fh:
                while block := resp.read(1 << 20):
                    fh.write(block)
        except OSError as exc:
            raise WeightsError(f"cannot download {url}: {exc}. Put the file at '{final}' by hand instead") from exc
        verify_weights(tmp, INCEPTION_WEIGHTS.__class__(**{**INCEPTION_WEIGHTS.__dict__, "filename": tmp.name}))
    return final


def ensure(dataset: str, out_dir: Path, data_dir: Path, retrain: bool = False) -> dict:
    """Make the default protocol's extractor weights for ``dataset`` ready; write and return the record.

    digits: the pinned reference file shipped in the package, or with ``retrain`` the classifier
    retrained here first (about 10 CPU s; kept when its bits equal the pin)."""
    proto = protocol_for(dataset, "auto")
    extra: dict = {}
    if proto.extractor == "digits_cnn":
        extra = _train_digits_or_reference(out_dir, data_dir) if retrain else _digits_reference(out_dir)
    extractor = EXTRACTORS.get(proto.extractor)(out_dir)  # checks the file against its pins
    record = {"dataset": dataset, "protocol": proto.name, "extractor": extractor.name,
              "sha256": extractor.weights_sha256, **extra}
    path = out_dir / f"{dataset}.json"
    atomic_write_json(path, record, sort_keys=False, default=None)
    return record


def _reference_path() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / digits_cnn.DIGITS_WEIGHTS.filename


def _install_reference(target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(_reference_path(), tmp)
    atomic_write_text(target.with_name(target.name + ".sha256"), f"{sha256_file(target)}  {target.name}\n")


def _digits_reference(out_dir: Path) -> dict:
    """Put the pinned reference digits classifier (shipped in the package) at its place in ``out_dir``,
    unless the same bytes are already there."""
    target = out_dir / digits_cnn.DIGITS_WEIGHTS.filename
    sidecar = target.with_name(target.name + ".sha256")
    if not (target.is_file() and sidecar.is_file() and sha256_file(target) == pins.DIGITS_CNN_SHA256):
        target.parent.mkdir(parents=True, exist_ok=True)
        _install_reference(target)
    return {"source": "pinned reference shipped in the package"}


def _train_digits_or_reference(out_dir: Path, data_dir: Path) -> dict:
    """Retrain the digits classifier; if this machine's bits differ from the pin, use the reference.

    Training is deterministic on one machine, but another CPU's float kernels may round differently
    and so give other weights. Evaluations are only comparable with the same extractor bytes, so the
    pinned reference file shipped in the package (``ganaudit/resources/digits_cnn.pt``) replaces a
    retrained file whose sha256 differs, and the record says so (``retrained_sha256``).
    """
    target = out_dir / digits_cnn.DIGITS_WEIGHTS.filename
    digits_cnn.train_and_save(target, data_dir)
    retrained = sha256_file(target)
    if pins.DIGITS_CNN_SHA256 is None or retrained == pins.DIGITS_CNN_SHA256:
        return {"source": "retrained here, equal to the pin"}
    _install_reference(target)
    log.warning("digits_cnn: retrained weights have sha256 %s, not the pinned %s (this machine rounds "
                "differently); using the pinned reference file %s", retrained, pins.DIGITS_CNN_SHA256,
                _reference_path())
    return {"source": "pinned reference (retrained bits differed)", "retrained_sha256": retrained}


if __name__ == "__main__":  # the command line is ganaudit.cli ('weights'); this path stays for dvc.yaml and docs
    from ganaudit.cli.main import run_module

    run_module('weights')
