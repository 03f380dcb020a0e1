"""Evaluation: ``evaluate_generator`` (training, CONTRACTS §3) and ``evaluate_samples`` (a reviewer's
files; the command line ``ganaudit evaluate`` is ganaudit.cli.evaluate). A run checkpoint
(``runs/<run>/checkpoints/last.ckpt`` or ``dstep-NNNNNNN.ckpt``) rebuilds its generator from the file
alone and names its dataset; see ``ganaudit.metrics.checkpoints`` for every accepted generator file.

Both paths stream generated images (float [0, 255], unquantized) through the protocol's extractor
in batches (no image set is held whole), compare them with the cached reference statistics of the
real split, and append one JSON record with provenance. NaN samples: during training the study's
sentinel 31337 is recorded for FID, IS and MS-SSIM (KID null, ``nan_samples: true``); a reviewer's
NaN samples are refused with a DataError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

import ganaudit.data
from ganaudit.metrics.checkpoints import load_generator
from ganaudit.metrics.features import EXTRACTORS
from ganaudit.metrics.ms_ssim import diversity_indices, diversity_ms_ssim
from ganaudit.metrics.progress import progress_iter
from ganaudit.metrics.protocols import Protocol, protocol_for
from ganaudit.metrics.provenance import append_record, make_record
from ganaudit.metrics.refstats import RefStats, get_or_compute
from ganaudit.metrics.samples import checked_generated, parse_range, sample_batches
from ganaudit.metrics.streaming import FIDMetric, InceptionScoreMetric, KIDMetric
from ganaudit.metrics.weights import exact_float32
from ganaudit.utils.errors import ConfigError, DataError
from ganaudit.utils.io import check_writable


def eval_latents(proto: Protocol, n: int, z_dim: int) -> Iterator[torch.Tensor]:
    """ceil(n / gen_batch) latent batches float32 [gen_batch, z_dim] ~ U(-1, 1) (CPU) of the protocol's
    stream (:func:`latent_stream` with its ``latent_seed``, ``latent_rng`` and ``gen_batch``)."""
    return latent_stream(proto.latent_seed, proto.latent_rng, proto.gen_batch, -(-n // proto.gen_batch), z_dim)


def latent_stream(seed: int, rng: str, gen_batch: int, batches: int, z_dim: int) -> Iterator[torch.Tensor]:
    """``batches`` latent batches float32 [gen_batch, z_dim] ~ U(-1, 1) (CPU).

    ``rng="numpy_legacy"`` (every registered protocol): the study's stream, i.e.
    ``np.random.seed(seed)`` then batch k = the k-th ``np.random.uniform(-1, 1, (gen_batch,
    z_dim))`` cast to float32 ([V2] ``eval_gan_lib.RunCheckpointEval``, ``abstract_gan.z_generator``),
    drawn from a private ``RandomState`` so numpy's global state is untouched. ``"torch"``:
    ``torch.Generator().manual_seed(seed)`` and ``rand * 2 - 1`` (ganaudit before 0.2).
    """
    if rng == "torch":
        gen = torch.Generator().manual_seed(int(seed))
        for _ in range(batches):
            yield torch.rand(gen_batch, z_dim, generator=gen, dtype=torch.float32) * 2.0 - 1.0
        return
    rs = np.random.RandomState(int(seed))
    for _ in range(batches):
        yield torch.from_numpy(rs.uniform(-1.0, 1.0, size=(gen_batch, z_dim)).astype(np.float32))


@torch.no_grad()
def generated_batches(generator: nn.Module, proto: Protocol, n: int, z_dim: int,
                      device: torch.device) -> Iterator[torch.Tensor]:
    """Images G(z) * 255 [b, 3, R, R] float32 for the protocol's fixed latents, truncated to ``n``.

    G runs in exact float32 on CUDA (no TF32, no autocast) whatever the training precision."""
    produced = 0
    for z in eval_latents(proto, n, z_dim):
        with exact_float32(), torch.autocast(device.type, enabled=False):
            images = generator(z.to(device)).float() * 255.0  # [0, 1] -> [0, 255], not quantized
        take = min(len(images), n - produced)
        produced += take
        yield images[:take]


def _device_of(module: nn.Module) -> torch.device:
    param = next(module.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def nan_sentinel_values(proto: Protocol, dataset: str) -> dict:
    """The values recorded for NaN samples: the study's sentinel 31337 ([V2] ``NAN_DETECTED``) for
    FID, IS and (where computed) MS-SSIM; KID (not in [V2]) null; ``nan_samples: True``."""
    sentinel = proto.nan_fid
    values = {"fid": sentinel, "is": sentinel if "is" in proto.metrics else None, "kid": None,
              "nan_samples": True}
    if proto.wants_ms_ssim(dataset):
        values["ms_ssim"] = sentinel
    return values


def _score_stream(batches: tuple[Iterable[torch.Tensor], int], proto: Protocol, dataset: str, ref: RefStats,
                  extractor: nn.Module, n_fake: int, device: torch.device, nan_policy: str) -> dict:
    """Metric values of a stream ``(batches, batch size)`` of fakes; {'nan_samples': True, ...} on NaN
    under the sentinel policy (training), DataError under the refuse policy (reviewer inputs)."""
    fid_m = FIDMetric(extractor.num_features, reference=(ref.mu, ref.sigma)).to(device)
    kid_m = KIDMetric(reference=ref.features, max_block_size=proto.kid_block) if "kid" in proto.metrics else None
    is_m = InceptionScoreMetric(extractor.num_logits) if "is" in proto.metrics else None
    picks = diversity_indices(n_fake, proto.diversity_seed, proto.diversity_batches,
                              proto.diversity_batch_size) if proto.wants_ms_ssim(dataset) else None
    kept: dict[int, torch.Tensor] = {}
    seen = 0
    batches, batch_size = batches
    total = -(-n_fake // batch_size)
    for batch in progress_iter(batches, f"evaluating {n_fake} samples ({proto.name})", total=total):
        if not torch.isfinite(batch).all():
            if nan_policy == "sentinel":
                return nan_sentinel_values(proto, dataset)
            raise DataError(f"samples {seen}..{seen + len(batch) - 1} hold NaN or inf; expected finite images")
        for start in range(0, len(batch), proto.extract_batch):
            feats, logits = extractor(batch[start : start + proto.extract_batch].to(device))
            fid_m.update(feats, real=False)
            kid_m is not None and kid_m.update(feats, real=False)
            if is_m is not None:
                is_m.update(logits if proto.is_logits == "with_bias" else logits - extractor.logits_bias)
        if picks is not None:
            wanted = picks.ravel()
            for i in wanted[(wanted >= seen) & (wanted < seen + len(batch))]:
                kept[int(i)] = batch[int(i) - seen].cpu()
        seen += len(batch)
    if seen != n_fake:
        raise DataError(f"got {seen} samples; protocol '{proto.name}' needs exactly {n_fake}")
    values = {"fid": float(fid_m.compute()), "nan_samples": False}
    values["is"] = float(is_m.compute()) if is_m is not None else None
    values["kid"] = float(kid_m.compute()) if kid_m is not None else None
    if picks is not None:
        groups = [torch.stack([kept[int(i)] for i in row]) for row in picks]
        values["ms_ssim"] = diversity_ms_ssim(groups, proto.ms_ssim_shrink_sigma)
    return values


def _evaluate(batches_fn, *, dataset: str, protocol: str, data_dir, artifacts_dir, record_path,
              context: dict | None, device: torch.device, nan_policy: str) -> dict:
    proto = protocol_for(dataset, protocol)
    if record_path is not None:
        check_writable(record_path, "record file", is_file=True)  # before any computing
    extractor = EXTRACTORS.get(proto.extractor)(Path(artifacts_dir) / "weights").to(device)
    view = ganaudit.data.open_split(dataset, proto.real_split, data_dir)
    _, n_fake = proto.counts(dataset)
    resolution = int(view.read_batch(0, 1).shape[1])
    stream = batches_fn(proto, n_fake, resolution)  # sample files are checked here, before any statistics
    ref = get_or_compute(proto, dataset, view, extractor, artifacts_dir, device)
    values = _score_stream(stream, proto, dataset, ref, extractor, n_fake, device, nan_policy)
    record = make_record(values, protocol=proto.as_dict(), dataset=dataset,
                         manifest_digest=view.manifest_digest, extractor=extractor.name,
                         weights_sha256=extractor.weights_sha256, n_real=ref.n, n_fake=n_fake,
                         context=context)
    if record_path is not None:
        append_record(record_path, record)
    return record


def evaluate_generator(generator: nn.Module, *, dataset: str, protocol: str, data_dir, artifacts_dir,
                       record_path: Path | None, context: dict | None) -> dict:
    """Evaluate ``generator`` (z [B, z_dim] ~ U(-1,1) -> images [B, 3, R, R] in [0, 1]) under a protocol.

    G is put in eval mode for sampling and its mode restored after; latents come from the protocol's
    seed (42), so every checkpoint sees the same z. ``z_dim`` is ``generator.z_dim`` if present, else
    ``context['z_dim']``, else 128. Returns ``{"fid", "is", "kid", ["ms_ssim"], "nan_samples",
    "provenance"}`` and appends it as one JSON line to ``record_path`` (if not None). ``context``
    carries seed, config_hash, step, run_id. NaN samples give FID = IS (= MS-SSIM) = 31337 (the study's sentinel).
    """
    context = dict(context or {})
    z_dim = int(getattr(generator, "z_dim", context.get("z_dim", 128)))
    device = _device_of(generator)
    was_training = generator.training
    generator.eval()
    try:
        return _evaluate(lambda proto, n, _r: (generated_batches(generator, proto, n, z_dim, device), proto.gen_batch),
                         dataset=dataset, protocol=protocol, data_dir=data_dir, artifacts_dir=artifacts_dir,
                         record_path=record_path, context=context, device=device, nan_policy="sentinel")
    finally:
        generator.train(was_training)


CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".ts")


def evaluate_samples(samples: Path, *, dataset: str | None, protocol: str, data_dir, artifacts_dir,
                     record_path: Path | None, context: dict | None = None, device: str = "cpu",
                     config=None, data_root: str | Path = "data/prepared", samples_range: str | None = None,
                     trust_pickle: bool = False) -> dict:
    """Evaluate a reviewer's samples (array file, PNG folder or generator file); NaN refused.

    A generator file is read by :func:`ganaudit.metrics.checkpoints.load_generator` (``config``: a run's
    config.yaml for a bare state_dict); a run checkpoint supplies ``dataset`` when it is None and its
    seed / config_hash / D step / run id to the record. ``data_dir`` None = ``data_root/<dataset>``.
    ``samples_range`` ("0,1" | "-1,1" | "0,255"): the range the samples (or G's outputs) are in;
    without it, data that looks like [0, 1] or [-1, 1] images is refused (metrics.samples).
    ``trust_pickle``: allow a generator file that loads only by full unpickling (it can run any code).
    """
    value_range = parse_range(samples_range)

    samples = Path(samples)
    context = {"samples": str(samples), **(context or {})}
    if samples.suffix in CHECKPOINT_SUFFIXES:
        gen, info = load_generator(samples, config, trust_pickle=trust_pickle)
        dataset = _checkpoint_dataset(dataset, info, samples)
        context = {**{k: info[k] for k in ("seed", "config_hash", "step", "run_id") if info.get(k) is not None},
                   **context}
        gen = gen.to(device)
        z_dim = int(info.get("z_dim") or context.get("z_dim", 128))
        fn = lambda proto, n, _r: (checked_generated(generated_batches(gen, proto, n, z_dim, torch.device(device)),  # noqa: E731
                                                     f"'{samples}'", value_range), proto.gen_batch)
    else:
        def fn(proto, n, resolution):
            return sample_batches(samples, n, resolution, proto.extract_batch, value_range), proto.extract_batch
    if not dataset:
        raise ConfigError(f"option 'dataset' is missing for samples '{samples}'; expected dataset=<name> "
                          "(only a run checkpoint names its own dataset)")
    data_dir = data_dir if data_dir else Path(data_root) / str(dataset)
    return _evaluate(fn, dataset=str(dataset), protocol=protocol, data_dir=data_dir, artifacts_dir=artifacts_dir,
                     record_path=record_path, context=context, device=torch.device(device), nan_policy="refuse")


def _checkpoint_dataset(dataset: str | None, info: dict, path: Path) -> str | None:
    """The dataset to evaluate a generator on: the given one, checked against the checkpoint's."""
    own = info.get("dataset")
    if dataset and own and str(dataset) != own:
        raise ConfigError(f"option 'dataset' = '{dataset}' but checkpoint '{path}' was trained on '{own}'; "
                          f"expected dataset={own} or no dataset option")
    return dataset or own
