"""Reference statistics of a real split (mu, Sigma and, for KID, the features), cached on disk.

Cache key: sha256 of the canonical JSON of everything that can change the numbers: protocol name,
extractor, real split, its manifest digest, the extractor weights sha256, N real, the kernels they
are computed with (``portable-cpu``, ``fast-cpu``, ``<mode>-cuda``: ganaudit.utils.determinism.kernels_in_force;
a portable run never scores against statistics that the machine's fast kernels computed) and a format
version. Files: ``<artifacts>/refstats/<dataset>/<protocol>-<key[:16]>.npz`` written to a temporary
name and ``os.replace``d (atomic). Loading re-checks the stored key fields against the requested
ones, so a file that does not belong to the current split/weights is refused (DataError), never
silently used. DVC stage: ``refstats@<dataset>`` = ``python -m ganaudit.metrics.refstats <dataset>``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganaudit.metrics.fid import stats_from_sums
from ganaudit.metrics.progress import progress_iter
from ganaudit.metrics.protocols import Protocol
from ganaudit.utils.determinism import kernels_in_force
from ganaudit.utils.errors import DataError
from ganaudit.utils.io import atomic_save

FORMAT_VERSION = 2  # 2: the kernels are part of the key


@dataclass
class RefStats:
    """mu [d], sigma [d, d] (float64), features [N, d] float32 or None, meta (the key fields)."""

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray | None
    meta: dict

    @property
    def n(self) -> int:
        return int(self.meta["n_real"])


def key_fields(proto: Protocol, dataset: str, manifest_digest: str, weights_sha256: str, n_real: int,
               kernels: str) -> dict:
    """The fields hashed into the cache key (and stored in the file for re-checking)."""
    return {"format": FORMAT_VERSION, "protocol": proto.name, "extractor": proto.extractor,
            "dataset": dataset, "split": proto.real_split, "split_manifest_digest": manifest_digest,
            "extractor_weights_sha256": weights_sha256, "n_real": int(n_real),
            "features_kept": proto.keep_real_features, "kernels": kernels}


def cache_key(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def cache_path(artifacts_dir: Path | str, fields: dict) -> Path:
    return Path(artifacts_dir) / "refstats" / fields["dataset"] / f"{fields['protocol']}-{cache_key(fields)[:16]}.npz"


def save(path: Path, stats: RefStats) -> None:
    """Write ``stats`` atomically (temporary file in the same folder, then ``os.replace``)."""
    arrays = {"mu": stats.mu, "sigma": stats.sigma, "meta": np.array(json.dumps(stats.meta, sort_keys=True))}
    if stats.features is not None:
        arrays["features"] = stats.features
    atomic_save(path, lambda fh: np.savez(fh, **arrays))


def load(path: Path, expected: dict) -> RefStats:
    """Load ``path`` and check its stored key fields equal ``expected``; DataError on any difference."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        stats = RefStats(z["mu"], z["sigma"], z["features"] if "features" in z else None, meta)
    diff = {k: (meta.get(k), v) for k, v in expected.items() if meta.get(k) != v}
    if diff:
        detail = "; ".join(f"{k}: file has {a!r}, expected {b!r}" for k, (a, b) in sorted(diff.items()))
        raise DataError(f"reference statistics '{path}' do not match the requested split/weights "
                        f"({detail}). Delete the file or rerun `dvc repro refstats@{expected.get('dataset')}`")
    return stats


def images_to_tensor(batch_nhwc: np.ndarray) -> torch.Tensor:
    """uint8 [n, H, W, 3] -> float32 [n, 3, H, W] in [0, 255]."""
    return torch.from_numpy(np.ascontiguousarray(batch_nhwc)).permute(0, 3, 1, 2).float()


@torch.no_grad()
def compute(view, n_real: int, extractor, batch: int, keep_features: bool, device: torch.device | str = "cpu",
            label: str = "real images") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(mu, sigma, features or None) of the first ``n_real`` images of ``view``, streamed in batches."""
    total = outer = None
    kept: list[np.ndarray] = []
    for start in progress_iter(range(0, n_real, batch), label, total=-(-n_real // batch)):
        images = images_to_tensor(view.read_batch(start, min(start + batch, n_real))).to(device)
        feats = extractor(images)[0].double().cpu()  # [b, d]
        total = feats.sum(0) if total is None else total + feats.sum(0)
        outer = feats.T @ feats if outer is None else outer + feats.T @ feats
        if keep_features:
            kept.append(feats.float().numpy())
    mu, sigma = stats_from_sums(n_real, total.numpy(), outer.numpy())
    return mu, sigma, (np.concatenate(kept) if keep_features else None)


def get_or_compute(proto: Protocol, dataset: str, view, extractor, artifacts_dir: Path | str,
                   device: torch.device | str = "cpu") -> RefStats:
    """The cached RefStats for (protocol, split, weights, N), computing and caching them on a miss."""
    n_cfg, _ = proto.counts(dataset)
    n_real = len(view) if n_cfg is None else n_cfg
    if len(view) < n_real:
        raise DataError(f"{dataset} {proto.real_split} split has {len(view)} images; protocol "
                        f"'{proto.name}' needs its first {n_real}")
    fields = key_fields(proto, dataset, view.manifest_digest, extractor.weights_sha256, n_real,
                        kernels_in_force(torch.device(device).type))
    path = cache_path(artifacts_dir, fields)
    if path.is_file():
        return load(path, fields)
    mu, sigma, feats = compute(view, n_real, extractor, proto.extract_batch, proto.keep_real_features, device,
                               label=f"{dataset} {proto.real_split} reference")
    stats = RefStats(mu, sigma, feats, fields)
    save(path, stats)
    return stats


if __name__ == "__main__":  # the command line is ganaudit.cli ('refstats'); this path stays for dvc.yaml and docs
    from ganaudit.cli.main import run_module

    run_module('refstats')
