"""The digits demo's feature extractor: a small CNN classifier of 32x32 RGB digits.

Trained deterministically (seed, CPU, one thread, fixed batch order) on the digits TRAIN split by
the DVC stage ``weights@digits`` (via ``fetch_weights ensure digits``), i.e.

    ganaudit digits-cnn train --out artifacts/weights/digits_cnn.pt

which writes the weights, ``<out>.sha256`` (the stage's pin) and ``<out>.json`` (test accuracy,
seed, epochs, split digests). Its penultimate 64-d ReLU features serve FID/KID and its 10 logits IS
(protocol ``digits_cnn``); they are *not* Inception numbers and are never compared with the paper's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import ganaudit.data
from ganaudit.data.store import read_meta
from ganaudit.metrics import pins
from ganaudit.metrics.weights import WeightsSpec, exact_float32, load_into, load_state, verify_weights
from ganaudit.utils.errors import DataError, WeightsError
from ganaudit.utils.hashing import sha256_file
from ganaudit.utils.io import atomic_save, atomic_write_text

FEATURE_DIM, N_CLASSES, RESOLUTION = 64, 10, 32
DIGITS_WEIGHTS = WeightsSpec(
    name="digits_cnn",
    filename=pins.DIGITS_CNN_FILENAME,
    sha256=pins.DIGITS_CNN_SHA256,
    sha256_prefix=None,
    how_to_get="`dvc repro weights@digits` "
    "(= ganaudit digits-cnn train --out artifacts/weights/digits_cnn.pt)",
)


class DigitsCNN(nn.Module):
    """x [B, 3, 32, 32] in [0, 1] -> (features [B, 64] >= 0, logits [B, 10])."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)  # -> [B, 16, 16, 16] after pooling
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # -> [B, 32, 8, 8]
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)  # -> [B, 32, 4, 4]
        self.fc1 = nn.Linear(32 * 4 * 4, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, N_CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.max_pool2d(F.relu(conv(x)), 2)
        feats = F.relu(self.fc1(x.flatten(1)))
        return feats, self.fc2(feats)


class DigitsExtractor(nn.Module):
    """images [B, 3, 32, 32] float in [0, 255] -> (features [B, 64], logits [B, 10]), float32."""

    name = "digits_cnn"
    num_features, num_logits = FEATURE_DIM, N_CLASSES

    def __init__(self, net: DigitsCNN, weights_sha256: str) -> None:
        super().__init__()
        self.net = net.eval()
        self.weights_sha256 = weights_sha256

    @property
    def logits_bias(self) -> torch.Tensor:
        """The last layer's bias [10] (``logits - logits_bias`` = features @ W^T)."""
        return self.net.fc2.bias.detach()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.shape[-2:] != (RESOLUTION, RESOLUTION):
            raise DataError(f"digits_cnn: expected images [B, 3, 32, 32], got {tuple(images.shape)}")
        with exact_float32():
            return self.net(images.float() / 255.0)



def load_digits_cnn(weights_dir: Path) -> DigitsExtractor:
    """The trained digits CNN from ``weights_dir``; checks the file against its sidecar and the pin."""
    path = Path(weights_dir) / DIGITS_WEIGHTS.filename
    sidecar = path.with_name(path.name + ".sha256")
    expected = sidecar.read_text().split()[0] if sidecar.is_file() else None
    if path.is_file() and expected is None and DIGITS_WEIGHTS.sha256 is None:
        raise WeightsError(f"digits_cnn weights '{path}' have no sidecar '{sidecar}' and no pin; "
                           f"re-create both with: {DIGITS_WEIGHTS.how_to_get}")
    digest = verify_weights(path, DIGITS_WEIGHTS, expected)
    net = DigitsCNN()
    load_into(net, load_state(path), path)
    return DigitsExtractor(net, digest)


# --- deterministic training ----------------------------------------------------------------------
def _to_input(images_nhwc: np.ndarray) -> torch.Tensor:
    """uint8 [N, 32, 32, 3] -> float32 [N, 3, 32, 32] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images_nhwc)).permute(0, 3, 1, 2).float() / 255.0


def train_classifier(images: np.ndarray, labels: np.ndarray, seed: int = 0, epochs: int = 12,
                     batch_size: int = 64, lr: float = 2e-3) -> DigitsCNN:
    """Train a DigitsCNN on uint8 images [N, 32, 32, 3] and int labels [N] in 0..9.

    Deterministic: seeded init and batch order, one CPU thread (bit-identical for a given torch build).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        net = DigitsCNN()
        x, y = _to_input(images), torch.as_tensor(labels, dtype=torch.long)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), batch_size):
                idx = order[start : start + batch_size]
                loss = F.cross_entropy(net(x[idx])[1], y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return net.eval()
    finally:
        torch.set_num_threads(threads)


@torch.no_grad()
def accuracy(net: DigitsCNN, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy in [0, 1] of ``net`` on uint8 images [N, 32, 32, 3]."""
    pred = net(_to_input(images))[1].argmax(1).numpy()
    return float((pred == np.asarray(labels)).mean())


def save_weights(net: DigitsCNN, out: Path, info: dict) -> str:
    """Write ``out``, ``out.sha256`` and ``out.json`` (atomic replace each); returns the sha256."""
    atomic_save(out, lambda fh: torch.save(net.state_dict(), fh))
    digest = sha256_file(out)
    record = json.dumps({**info, "sha256": digest}, indent=2)
    for suffix, text in ((".sha256", f"{digest}  {out.name}\n"), (".json", record)):
        atomic_write_text(out.with_name(out.name + suffix), text)
    return digest


def digits_labels(view) -> np.ndarray:
    """Labels [N] of a digits SplitView: ``view.labels`` if the data package provides them, else the
    scikit-learn targets of the item ids (``digits/<source index>``) recorded in the shard metas."""
    labels = getattr(view, "labels", None)
    if labels is not None:
        return np.asarray(labels, dtype=np.int64)
    # deferred: scikit-learn's import time, when labels are recomputed
    from sklearn.datasets import load_digits

    targets, ids = load_digits().target, []
    for k in range(len(view.shard_counts)):
        meta = read_meta(view.data_dir, view.split, k)
        if meta is None:
            raise DataError(f"digits {view.split} shard {k} in '{view.data_dir}' has no readable meta; "
                            "rerun `dvc repro prepare@digits`")
        ids += [item[0] for item in meta["items"]]
    if len(ids) != len(view) or not all(i.startswith("digits/") for i in ids):
        raise DataError(f"digits {view.split} split in '{view.data_dir}': item ids do not name "
                        f"{len(view)} source digits; expected ids 'digits/<index>'")
    return targets[[int(i.split("/")[1]) for i in ids]].astype(np.int64)


def labelled_split(split: str, data_dir: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(uint8 images [N, 32, 32, 3], labels [N], manifest digest) of the prepared digits ``split``."""
    view = ganaudit.data.open_split("digits", split, data_dir)
    return view.read_batch(0, len(view)), digits_labels(view), view.manifest_digest



def train_and_save(out: Path, data_dir: Path, seed: int = 0, epochs: int = 12) -> dict:
    """Train the classifier on the prepared digits train split of ``data_dir``, write its weights to
    ``out`` (with ``.sha256`` and ``.json`` beside it); returns the training record with ``sha256``."""
    t0 = time.perf_counter()
    x_tr, y_tr, train_digest = labelled_split("train", data_dir)
    x_te, y_te, test_digest = labelled_split("test", data_dir)
    net = train_classifier(x_tr, y_tr, seed=seed, epochs=epochs)
    info = {"seed": seed, "epochs": epochs, "n_train": len(x_tr), "n_test": len(x_te),
            "test_accuracy": accuracy(net, x_te, y_te), "train_manifest": train_digest,
            "test_manifest": test_digest, "torch": torch.__version__,
            "train_seconds": round(time.perf_counter() - t0, 2)}
    return {**info, "sha256": save_weights(net, out, info)}
