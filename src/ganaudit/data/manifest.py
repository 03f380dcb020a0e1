"""Split manifests: the small committed text file that pins a prepared dataset (``splits/<name>.json``).

A manifest holds the dataset name, preprocessing version and statement, resolution, split seed, image
counts, shard size, the ordered ids of the test members, and per split: the size, the sha256 of each
shard's pixel bytes (uint8 HWC, C order) with the sha256 of its ``[id, item digest]`` list, and the
split digest ``sha256`` = sha256 of the newline-joined shard pixel digests in order (a Merkle root:
it changes with any pixel, image, or order change). Canonical JSON (sorted keys): byte-stable.

``verify_store`` recomputes every digest of a prepared store and names the first differing item.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ganaudit.data.store import (
    SPLITS,
    item_digests,
    items_sha256,
    load_shard,
    pixel_sha256,
    read_meta,
    shard_stem,
)
from ganaudit.utils.errors import DataError

FORMAT = "ganaudit-split-manifest/1"


def splits_dir_default() -> Path:
    """``$GANAUDIT_SPLITS``, else ``$GANAUDIT_ROOT/splits``, else ``./splits`` (the repo's)."""
    if "GANAUDIT_SPLITS" in os.environ:
        return Path(os.environ["GANAUDIT_SPLITS"])
    return Path(os.environ.get("GANAUDIT_ROOT", ".")) / "splits"


def merkle(digests: list[str]) -> str:
    """sha256 hex of the newline-joined hex digests (the split content digest)."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def build_manifest(header: dict, metas: dict[str, list[dict]]) -> dict:
    """The manifest dict from the plan ``header`` and the ordered shard metas of each split."""
    splits = {}
    for split in SPLITS:
        shards = [{"count": m["count"], "sha256": m["sha256"], "items_sha256": m["items_sha256"]}
                  for m in metas[split]]
        splits[split] = {"size": sum(s["count"] for s in shards),
                         "sha256": merkle([s["sha256"] for s in shards]), "shards": shards}
    test_ids = [item[0] for m in metas["test"] for item in m["items"]]
    return {"format": FORMAT, **header, "splits": splits, "test_ids": test_ids}


def load_manifest(path: Path) -> dict:
    """The manifest at ``path`` (DataError naming it if missing or not a manifest)."""
    try:
        m = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"missing split manifest {path}") from None
    except ValueError as exc:
        raise DataError(f"split manifest {path} is not valid JSON: {exc}") from None
    if m.get("format") != FORMAT:
        raise DataError(f"{path} has format {m.get('format')!r}; expected {FORMAT!r}")
    return m


def _position(expected: dict, split: str, shard: int) -> int:
    return sum(s["count"] for s in expected["splits"][split]["shards"][:shard])


def first_difference(expected: dict, got: dict) -> str | None:
    """A sentence naming the first field, split, shard or test id where ``got`` differs, else None."""
    for key in ("dataset", "preprocessing_version", "resolution", "seed", "n_total", "n_test",
                "shard_size"):
        if expected.get(key) != got.get(key):
            return f"{key} is {got.get(key)!r}; the manifest pins {expected.get(key)!r}"
    for split in SPLITS:
        e, g = expected["splits"][split], got["splits"][split]
        if e["size"] != g["size"]:
            return f"{split} split has {g['size']} images; the manifest pins {e['size']}"
    e_ids, g_ids = expected["test_ids"], got["test_ids"]
    for pos, (a, b) in enumerate(zip(e_ids, g_ids, strict=True)):
        if a != b:
            return f"test item {pos} is '{b}'; the manifest pins '{a}' (different split membership)"
    for split in SPLITS:
        for k, (e, g) in enumerate(zip(expected["splits"][split]["shards"],
                                       got["splits"][split]["shards"], strict=True)):
            if e != g:
                pos = _position(expected, split, k)
                return (f"{split} shard {k} (items {pos}..{pos + e['count'] - 1}) has sha256 "
                        f"{g['sha256'][:16]}..; the manifest pins {e['sha256'][:16]}.. "
                        f"(different pixels or ids)")
    return None


def _locate_in_shard(data_dir: Path, split: str, k: int, exp: dict, arr: np.ndarray | None,
                     pos: int = 0) -> str:
    """Name the first differing item of shard ``k`` using its recorded per-item digests."""
    stem = shard_stem(data_dir, split, k)
    meta = read_meta(data_dir, split, k)
    if meta is None or items_sha256(meta.get("items", [])) != exp["items_sha256"]:
        return f"its item list {stem}.json is missing or does not match the manifest"
    items = meta["items"]
    if arr is None:
        return f"first missing item: {split} item {pos} '{items[0][0]}'"
    got = item_digests(arr)
    want = [d for _, d in items]
    for j, (item_id, digest) in enumerate(items):
        if j >= len(got) or (got[j] != digest and len(got) < len(want)
                             and got[j:] == want[j + 1 : j + 1 + len(got) - j]):
            return f"missing image: {split} item {pos + j} '{item_id}' is absent"
        if got[j] != digest:
            where = f"; it holds the pixels of item '{items[want.index(got[j])][0]}' (reordered)" \
                if got[j] in want else ""
            return f"{split} item {pos + j} '{item_id}' has changed pixels{where}"
    return f"the shard holds {len(got)} images; expected {len(items)}"


def verify_store(data_dir: Path, expected: dict,
                 on_shard: Callable[[], None] | None = None) -> list[str]:
    """Recompute every shard digest of ``data_dir`` against ``expected``; [] if identical.

    Each problem names the split, the item position and id, and the shard file; ``on_shard`` is
    called after each shard is hashed (progress). Stops a split at its first problem (later shards of that
    split are reported only if its first problem is fixed).
    """
    problems: list[str] = []
    for split in SPLITS:
        shards = expected["splits"][split]["shards"]
        by_digest = {s["sha256"]: i for i, s in enumerate(shards)}
        for k, exp in enumerate(shards):
            pos = _position(expected, split, k)
            path = shard_stem(data_dir, split, k).with_suffix(".npy")
            where = f"{split} item {pos}.. in shard {path}"
            if not path.exists():
                problems.append(f"{where}: missing shard file; {_locate_in_shard(data_dir, split, k, exp, None, pos)}")
                break
            arr = load_shard(data_dir, split, k)
            digest = pixel_sha256(arr)
            if on_shard is not None:
                on_shard()
            if digest == exp["sha256"]:
                continue
            if digest in by_digest:
                problems.append(f"{where}: holds the content of {split} shard {by_digest[digest]} "
                                "(shards reordered)")
            else:
                detail = _locate_in_shard(data_dir, split, k, exp, arr, pos)
                problems.append(f"{split} shard {path} (items {pos}..{pos + exp['count'] - 1}): "
                                f"{detail}; sha256 {digest[:16]}.., manifest {exp['sha256'][:16]}..")
            break
        extra = shard_stem(data_dir, split, len(shards)).with_suffix(".npy")
        if not problems and extra.exists():
            problems.append(f"unexpected extra shard {extra}: the manifest pins {len(shards)} shards")
    return problems
