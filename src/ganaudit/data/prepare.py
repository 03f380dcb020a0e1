"""Preparation: raw source -> sharded uint8 store + split manifest, chunked, parallel, resumable.

One job = one shard of one split (``shard_size`` images, source indices ascending). Jobs run in
``workers`` spawned processes; a finished shard is written atomically (store.py), so a killed run
loses at most the shards in flight and a rerun skips every shard whose digest checks out. The store
is complete only when ``manifest.json`` is written, after all shards and after the comparison with
the committed manifest (``splits/<name>.json``): the first preparation of a dataset writes that file
(for the user to commit); later ones must reproduce it exactly or stop naming the first difference.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import inspect
import json
import logging
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich.progress import Progress

from ganaudit.data.manifest import build_manifest, first_difference, load_manifest, splits_dir_default
from ganaudit.data.registry import DATASETS, Source
from ganaudit.data.store import MANIFEST, atomic_write_bytes, completed_meta, dumps, write_shard
from ganaudit.utils.errors import ConfigError, DataError

log = logging.getLogger(__name__)
PLAN = "plan.json"


@dataclass(frozen=True)
class Job:
    """Shard ``shard`` of ``split``: images at ascending source ``indices``; ``plan`` fingerprint."""

    split: str
    shard: int
    indices: np.ndarray
    plan: str


def plan_jobs(header: dict, test_idx: np.ndarray, count: int) -> list[Job]:
    """All shard jobs: test idx sorted int64 [n_test]; train = the complement, ascending."""
    train_idx = np.setdiff1d(np.arange(count, dtype=np.int64), test_idx, assume_unique=True)
    size = header["shard_size"]
    base = json.dumps(header, sort_keys=True)
    jobs = []
    for split, idx in (("train", train_idx), ("test", test_idx)):
        for k, start in enumerate(range(0, len(idx), size)):
            chunk = idx[start : start + size]
            fp = hashlib.sha256(f"{base}|{split}|{k}|".encode() + chunk.tobytes()).hexdigest()
            jobs.append(Job(split, k, chunk, fp))
    return jobs


def run_job(source: Source, data_dir: Path, resolution: int, job: Job) -> dict:
    """Read, check and write one shard; returns its meta. Runs in a worker process."""
    ids, images = [], np.empty((len(job.indices), resolution, resolution, 3), np.uint8)
    for j, (item_id, img) in enumerate(source.read(job.indices)):
        if img.shape != (resolution, resolution, 3) or img.dtype != np.uint8:
            raise DataError(f"item '{item_id}' was preprocessed to {img.dtype} {img.shape}; "
                            f"expected uint8 ({resolution}, {resolution}, 3)")
        ids.append(item_id)
        images[j] = img
    if len(ids) != len(job.indices):
        raise DataError(f"source gave {len(ids)} images for {job.split} shard {job.shard}; "
                        f"expected {len(job.indices)}")
    return write_shard(data_dir, job.split, job.shard, ids, images, plan=job.plan)


def _start(data_dir: Path, header: dict, jobs: list[Job]) -> None:
    """Mark the store incomplete and record the plan; drop shard files the plan has no slot for.

    Shards of an older plan (other seed, sizes or preprocessing) fail their plan fingerprint and are
    redone; shards of the same plan are kept (resume)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MANIFEST).unlink(missing_ok=True)
    atomic_write_bytes(data_dir / PLAN, dumps(header))
    for split in ("train", "test"):
        n = sum(1 for j in jobs if j.split == split)
        for f in sorted((data_dir / split).glob("shard-*.*")) if (data_dir / split).is_dir() else []:
            if f.suffix in (".npy", ".json") and int(f.stem.split("-")[1]) >= n:
                f.unlink()


def _slim(meta: dict) -> dict:
    """The meta without its per-item list for train shards (main-process memory stays flat in N;
    the test ids are kept: the manifest lists them)."""
    return meta if meta["split"] == "test" else {k: v for k, v in meta.items() if k != "items"}


def _run_parallel(source: Source, data_dir: Path, resolution: int, todo: list[Job], workers: int,
                  done: Callable[[Job, dict], None]) -> None:
    """Run ``todo`` in ``workers`` spawned processes, at most 2·workers jobs in flight."""
    jobs = iter(todo)
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futs: dict[cf.Future, Job] = {}

        def submit_next() -> None:
            job = next(jobs, None)
            if job is not None:
                futs[pool.submit(run_job, source, data_dir, resolution, job)] = job

        for _ in range(2 * workers):
            submit_next()
        try:
            while futs:
                finished, _ = cf.wait(futs, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    done(futs.pop(fut), fut.result())
                    submit_next()
        except BaseException:
            for fut in futs:
                fut.cancel()
            raise  # shards already written stay; running ones finish before the pool closes


def _run_all(source: Source, data_dir: Path, header: dict, jobs: list[Job], workers: int,
             progress: bool) -> dict[tuple[str, int], dict]:
    """Run the jobs not already complete; {(split, shard): meta} for all jobs."""
    metas: dict[tuple[str, int], dict] = {}
    todo = []
    for job in jobs:
        meta = completed_meta(data_dir, job.split, job.shard, len(job.indices), job.plan)
        if meta is None:
            todo.append(job)
        else:
            metas[(job.split, job.shard)] = _slim(meta)
    if todo:
        _start(data_dir, header, jobs)
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"preparing {len(todo)} shards ({len(jobs) - len(todo)} done before)",
                            total=len(todo))

        def done(job: Job, meta: dict) -> None:
            metas[(job.split, job.shard)] = _slim(meta)
            bar.advance(task)

        if workers <= 1:
            for job in todo:
                done(job, run_job(source, data_dir, header["resolution"], job))
        else:
            _run_parallel(source, data_dir, header["resolution"], todo, workers, done)
    return metas


def build_store(source: Source, data_dir: Path, header: dict, *, workers: int = 1,
                progress: bool = True) -> dict:
    """Write (or resume) all shards of ``source`` under the plan ``header``; returns the manifest.

    ``header`` holds at least ``seed``, ``n_test``, ``shard_size`` and ``resolution``. The store is
    not marked complete here (no ``manifest.json``); :func:`prepare` does that after the comparison
    with the committed manifest.
    """
    jobs = plan_jobs(header, source.test_indices(header["seed"], header["n_test"]), source.count)
    metas = _run_all(source, data_dir, header, jobs, workers, progress)
    ordered = {s: [metas[(j.split, j.shard)] for j in jobs if j.split == s] for s in ("train", "test")}
    return build_manifest(header, ordered)


def _check_options(name: str, open_source: Callable, options: dict[str, Any] | None) -> dict:
    """``options`` if ``open_source`` accepts every key, else ConfigError naming the bad one."""
    allowed = [p for p in inspect.signature(open_source).parameters if p not in ("raw_dir", "n_total")]
    for key in options or {}:
        if key not in allowed:
            raise ConfigError(f"unknown source option '{key}' for dataset '{name}'; allowed: "
                              f"{', '.join(allowed) or 'none'}")
    return dict(options or {})


def prepare(name: str, raw_dir: str | Path | None, data_dir: str | Path, *, seed: int | None = None,
            n_total: int | None = None, n_test: int | None = None, shard_size: int | None = None,
            workers: int = 1, splits_dir: str | Path | None = None, update_manifest: bool = False,
            progress: bool = True, source_options: dict[str, Any] | None = None) -> dict:
    """Prepare dataset ``name`` from ``raw_dir`` into ``data_dir``; returns the manifest.

    n_total / n_test / shard_size default to the dataset's pinned values (tests pass small ones).
    source_options go to the dataset's ``open_source`` (e.g. CelebA-HQ ``downsample``); a source
    may report its own ``preprocessing_version`` (recorded in the manifest).
    The committed manifest ``<splits_dir>/<name>.json`` is written if absent (or if
    ``update_manifest``), else the new one must equal it byte for byte: DataError naming the first
    difference otherwise (shards stay on disk; the store gets no ``manifest.json``).
    """
    info = DATASETS.get(name)
    raw = Path(raw_dir) if raw_dir is not None else info.raw_dir()
    data_dir = Path(data_dir)
    seed = info.default_seed if seed is None else int(seed)
    n_total = info.n_total if n_total is None else int(n_total)
    n_test = info.n_test if n_test is None else int(n_test)
    source = info.open_source(raw, n_total, **_check_options(name, info.open_source, source_options))
    header = {"dataset": name, "preprocessing": info.preprocessing,
              "preprocessing_version": getattr(source, "preprocessing_version",
                                               info.preprocessing_version),
              "resolution": info.resolution, "seed": seed, "n_total": n_total, "n_test": n_test,
              "shard_size": int(shard_size or info.shard_size)}
    if not 0 < n_test < source.count:
        raise DataError(f"n_test={n_test} for '{name}'; expected 0 < n_test < {source.count}")
    manifest = build_store(source, data_dir, header, workers=workers, progress=progress)
    _commit(name, data_dir, manifest, Path(splits_dir or splits_dir_default()), update_manifest)
    return manifest


def _commit(name: str, data_dir: Path, manifest: dict, splits_dir: Path, update: bool) -> None:
    """Compare with / write the committed manifest, then mark the store complete."""
    committed = splits_dir / f"{name}.json"
    if committed.exists() and not update:
        diff = first_difference(load_manifest(committed), manifest)
        if diff is None and committed.read_bytes() != dumps(manifest):
            diff = "the manifest bytes differ (formatting or extra fields)"
        if diff is not None:
            (data_dir / MANIFEST).unlink(missing_ok=True)  # never serve a store that drifted
            atomic_write_bytes(data_dir / "manifest.rejected.json", dumps(manifest))
            raise DataError(f"prepared '{name}' in {data_dir} does not match the committed manifest "
                            f"{committed}: {diff}. The shards are kept; see "
                            f"{data_dir / 'manifest.rejected.json'}")
    else:
        splits_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(committed, dumps(manifest))
        log.info("wrote split manifest %s: commit it to pin this dataset (git add %s)", committed, committed)
    atomic_write_bytes(data_dir / MANIFEST, dumps(manifest))
