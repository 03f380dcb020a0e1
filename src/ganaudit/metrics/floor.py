"""The real-data floor of a protocol: the FID of real images that were not used as the reference.

    floor = FID(first N images of the OTHER split, reference statistics of the protocol's split)

with N = the protocol's number of fakes, so the floor carries the same finite-sample bias as every
FID of a generator under that protocol (FID depends on N). For ``digits_cnn`` (reference: the 500
test images) that is the first 500 train images. A generator that reproduced the training data
exactly would score about this; ratios ``FID / floor`` say how far a run is from real data.

    python -m ganaudit.metrics.floor digits [--protocol auto] [--data-dir data/prepared/digits] [--artifacts artifacts]
                                            [--determinism portable|fast]
"""

from __future__ import annotations

from typing import Iterator

import torch

import ganaudit.data
from ganaudit.metrics.evaluate import _evaluate
from ganaudit.metrics.protocols import protocol_for
from ganaudit.metrics.refstats import images_to_tensor
from ganaudit.utils.errors import DataError

__all__ = ["floor_split", "real_floor"]


def floor_split(real_split: str) -> str:
    """The split whose images are scored against the protocol's ``real_split`` reference."""
    return "train" if real_split == "test" else "test"


def _real_batches(view, n: int, batch: int) -> Iterator[torch.Tensor]:
    """float32 [b, 3, R, R] in [0, 255] (uint8 values) of the first ``n`` images of ``view``."""
    for start in range(0, n, batch):
        yield images_to_tensor(view.read_batch(start, min(start + batch, n)))


def real_floor(dataset: str, protocol: str = "auto", *, data_dir, artifacts_dir,
               device: str = "cpu") -> dict:
    """The protocol's evaluation record (fid, is, kid, provenance) of the first N images of the other
    split; ``provenance.context`` names the split. DataError if that split has fewer than N images."""
    proto = protocol_for(dataset, protocol)
    split = floor_split(proto.real_split)
    view = ganaudit.data.open_split(dataset, split, data_dir)
    _, n_fake = proto.counts(dataset)
    if len(view) < n_fake:
        raise DataError(f"the {split} split of '{dataset}' in {data_dir} has {len(view)} images; the "
                        f"real-data floor of protocol '{proto.name}' needs {n_fake}")

    def batches(p, n, _resolution):
        return _real_batches(view, n, p.extract_batch), p.extract_batch

    context = {"samples": f"real:{split}[:{n_fake}]", "split_manifest_digest": view.manifest_digest}
    return _evaluate(batches, dataset=dataset, protocol=proto.name, data_dir=data_dir,
                     artifacts_dir=artifacts_dir, record_path=None, context=context,
                     device=torch.device(device), nan_policy="refuse")


if __name__ == "__main__":  # the command line is ganaudit.cli ('floor'); this path stays for dvc.yaml and docs
    from ganaudit.cli.main import run_module

    run_module('floor')
