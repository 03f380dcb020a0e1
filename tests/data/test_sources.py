"""CIFAR-10 tarball, CelebA-HQ directory and LSUN LMDB: real formats built here, small counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ganaudit.data import open_split
from ganaudit.data.imageops import crop_or_pad, decode_rgb
from ganaudit.data.prepare import prepare
from ganaudit.utils.errors import DataError

from .builders import make_celeba_dir, make_cifar_tarball, make_lsun_lmdb


def _ids(data_dir, split):
    return [i for f in sorted((data_dir / split).glob("shard-*.json"))
            for i, _ in json.loads(f.read_text())["items"]]


# ---------------------------------------------------------------- CIFAR-10
def test_cifar_official_split_in_file_order(tmp_path):
    tar, md5, images = make_cifar_tarball(tmp_path / "raw", per_batch=4)
    m = prepare("cifar10", tmp_path / "raw", tmp_path / "out", n_total=24, n_test=4, shard_size=5,
                splits_dir=tmp_path / "s", progress=False, source_options={"md5": md5})
    train, test = open_split("cifar10", "train", tmp_path / "out"), open_split("cifar10", "test", tmp_path / "out")
    np.testing.assert_array_equal(train.read_batch(0, 20), images[:20])  # batches 1..5, file order
    np.testing.assert_array_equal(test.read_batch(0, 4), images[20:])  # test_batch, file order
    assert m["test_ids"] == [f"test_batch/{i}" for i in range(4)]
    assert _ids(tmp_path / "out", "train")[3:5] == ["data_batch_1/3", "data_batch_2/0"]
    assert train.shard_counts == [5, 5, 5, 5]
    # CHW-flat rows -> HWC: pixel (y, x) channel c is data[c*1024 + y*32 + x]
    assert train[7][2, 3, 4] == images[7][3, 4, 2]


def test_cifar_bad_checksum_names_file_and_digests(tmp_path):
    tar, md5, _ = make_cifar_tarball(tmp_path / "raw", per_batch=2)
    with pytest.raises(DataError, match=rf"bad checksum for .*cifar-10-python.tar.gz: md5 {md5}, "
                                        r"expected c58f30108f718f92721af3b95e74349a"):
        prepare("cifar10", tmp_path / "raw", tmp_path / "out", splits_dir=tmp_path / "s",
                progress=False)
    assert not (tmp_path / "out").exists()


def test_cifar_truncated_and_wrong_count(tmp_path):
    tar, md5, _ = make_cifar_tarball(tmp_path / "raw", per_batch=2)
    with pytest.raises(DataError, match=r"data_batch_1 holds 2 images; expected 3"):
        prepare("cifar10", tmp_path / "raw", tmp_path / "o1", n_total=18, n_test=3,
                splits_dir=tmp_path / "s", progress=False, source_options={"md5": md5})
    tar.write_bytes(tar.read_bytes()[:300])
    with pytest.raises(DataError, match=r"cannot read CIFAR-10 batches from .*cifar-10-python"):
        prepare("cifar10", tmp_path / "raw", tmp_path / "o2", n_total=12, n_test=2,
                splits_dir=tmp_path / "s", progress=False, source_options={"md5": None})
    with pytest.raises(DataError, match=r"missing .*cifar-10-python.tar.gz"):
        prepare("cifar10", tmp_path / "nothing", tmp_path / "o3", splits_dir=tmp_path / "s",
                progress=False)


# ---------------------------------------------------------------- CelebA-HQ
def test_celeba_downsampled_split_and_resume_after_bad_image(tmp_path):
    raw = tmp_path / "raw"
    written = make_celeba_dir(raw, 10, big=256)
    bad = raw / "sub" / "00005.png"
    good = bad.read_bytes()
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    kw = dict(n_total=10, n_test=3, shard_size=2, splits_dir=tmp_path / "s", progress=False)
    with pytest.raises(DataError, match=r"cannot decode image .*sub/00005.png"):
        prepare("celeba_hq_128", raw, tmp_path / "out", **kw)
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "train").glob("*.npy")}
    assert kept and not (tmp_path / "out" / "manifest.json").exists()
    bad.write_bytes(good)
    m = prepare("celeba_hq_128", raw, tmp_path / "out", **kw)  # resumes
    for name, stamp in kept.items():  # shards finished before the error were not redone
        assert (tmp_path / "out" / "train" / name).stat().st_mtime_ns == stamp
    files = sorted(written)
    test_idx = np.sort(np.random.default_rng(0).permutation(10)[:3])
    assert m["test_ids"] == [files[i] for i in test_idx]
    train_ids = _ids(tmp_path / "out", "train")
    assert sorted(train_ids + m["test_ids"]) == files and not set(train_ids) & set(m["test_ids"])
    train = open_split("celeba_hq_128", "train", tmp_path / "out")
    for j, rel in enumerate(train_ids):
        img = written[rel]
        ref = img if img.shape[0] == 128 else \
            np.rint(img.astype(np.float64).reshape(128, 2, 128, 2, 3).mean(axis=(1, 3)))
        assert np.abs(train.read_batch(j, j + 1)[0].astype(float) - ref).max() <= 0.5 + 1e-9


def test_celeba_wrong_count_and_missing_dir(tmp_path):
    make_celeba_dir(tmp_path / "raw", 4, big=256)
    with pytest.raises(DataError, match=r"holds 4 images .*expected 30000 CelebA-HQ"):
        prepare("celeba_hq_128", tmp_path / "raw", tmp_path / "out", splits_dir=tmp_path / "s")
    with pytest.raises(DataError, match=r"missing directory .*nope"):
        prepare("celeba_hq_128", tmp_path / "nope", tmp_path / "out", splits_dir=tmp_path / "s")


# ---------------------------------------------------------------- LSUN
SIZES = [(256, 341), (257, 256), (100, 300), (256, 256), (128, 128), (90, 60), (301, 129),
         (256, 384), (256, 257)]


def test_lsun_crop_split_and_ids(tmp_path):
    _, values = make_lsun_lmdb(tmp_path / "raw", SIZES)
    m = prepare("lsun_bedroom", tmp_path / "raw", tmp_path / "out", n_total=len(SIZES), n_test=3,
                shard_size=4, splits_dir=tmp_path / "s", progress=False)
    keys = sorted(values)  # LMDB key order
    test_idx = np.sort(np.random.default_rng(0).permutation(len(keys))[:3])
    assert m["test_ids"] == [keys[i].decode() for i in test_idx]
    out = {}
    for split in ("train", "test"):
        view = open_split("lsun_bedroom", split, tmp_path / "out")
        for j, key in enumerate(_ids(tmp_path / "out", split)):
            out[key] = view.read_batch(j, j + 1)[0]
    assert sorted(out) == [k.decode() for k in keys]
    for key, value in values.items():
        decoded = decode_rgb(value, "ref")
        h, w = decoded.shape[:2]
        got = out[key.decode()]
        # hand-computed central crop / pad offsets (TF resize_image_with_crop_or_pad)
        r0, c0 = max((h - 128) // 2, 0), max((w - 128) // 2, 0)
        p0, q0 = max((128 - h) // 2, 0), max((128 - w) // 2, 0)
        hh, ww = min(h, 128), min(w, 128)
        np.testing.assert_array_equal(got[p0:p0 + hh, q0:q0 + ww], decoded[r0:r0 + hh, c0:c0 + ww])
        assert got.sum() == got[p0:p0 + hh, q0:q0 + ww].sum()  # the rest is zero padding
        np.testing.assert_array_equal(got, crop_or_pad(decoded, 128, 128))


def test_lsun_missing_wrong_count_and_undecodable(tmp_path):
    with pytest.raises(DataError, match=r"missing LMDB .*bedroom_train_lmdb/data.mdb"):
        prepare("lsun_bedroom", tmp_path / "none", tmp_path / "out", splits_dir=tmp_path / "s")
    path, values = make_lsun_lmdb(tmp_path / "raw", SIZES[:4])
    with pytest.raises(DataError, match=r"holds 4 images; expected 3033042"):
        prepare("lsun_bedroom", tmp_path / "raw", tmp_path / "out", splits_dir=tmp_path / "s")
    import lmdb

    env = lmdb.open(str(path), map_size=1 << 26)
    bad_key = sorted(values)[2]
    with env.begin(write=True) as txn:
        txn.put(bad_key, b"garbage")
    env.close()
    with pytest.raises(DataError, match=rf"cannot decode image .*\[key {bad_key.decode()}\]"):
        prepare("lsun_bedroom", tmp_path / "raw", tmp_path / "out", n_total=4, n_test=1,
                shard_size=2, splits_dir=tmp_path / "s", progress=False)


def test_lsun_anchor_seeks_equal_a_sequential_scan(tmp_path):
    from ganaudit.data.lsun import LsunSource, scan_anchors

    path, values = make_lsun_lmdb(tmp_path / "raw", [(40 + i % 3, 50) for i in range(37)])
    n, anchors = scan_anchors(path, every=4)
    assert n == 37 and anchors == sorted(values)[::4]
    wanted = [0, 3, 4, 5, 17, 18, 30, 36]
    jumpy = list(LsunSource(path, n, anchors, every=4).read(wanted))
    n2, one = scan_anchors(path, every=1000)
    seq = list(LsunSource(path, n2, one, every=1000).read(wanted))
    keys = sorted(values)
    assert [k for k, _ in jumpy] == [k for k, _ in seq] == [keys[i].decode() for i in wanted]
    for (_, a), (_, b) in zip(jumpy, seq, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(DataError, match="ended at position 36; expected 40"):
        list(LsunSource(path, 40, anchors, every=4).read([38]))


def test_celeba_downsample_option_is_versioned(tmp_path):
    from PIL import Image

    from ganaudit.utils.errors import ConfigError

    raw = tmp_path / "raw"
    written = make_celeba_dir(raw, 4, big=256)
    kw = dict(n_total=4, n_test=1, splits_dir=tmp_path / "s", progress=False)
    m = prepare("celeba_hq_128", raw, tmp_path / "out", source_options={"downsample": "pil_lanczos"}, **kw)
    assert m["preprocessing_version"] == "celebahq-v1+pil_lanczos"
    view = {s: open_split("celeba_hq_128", s, tmp_path / "out") for s in ("train", "test")}
    ids = {s: _ids(tmp_path / "out", s) for s in view}
    j = ids["train"].index("00000.png") if "00000.png" in ids["train"] else None
    split = "train" if j is not None else "test"
    j = ids[split].index("00000.png")
    ref = np.asarray(Image.fromarray(written["00000.png"]).resize((128, 128), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(view[split].read_batch(j, j + 1)[0], ref)
    with pytest.raises(ConfigError, match="downsample='bicubic'; allowed: box_chain, pil_box"):
        prepare("celeba_hq_128", raw, tmp_path / "o2", source_options={"downsample": "bicubic"}, **kw)
    with pytest.raises(ConfigError, match="unknown source option 'filter'.*allowed: downsample"):
        prepare("celeba_hq_128", raw, tmp_path / "o3", source_options={"filter": "x"}, **kw)


def test_cifar_download_is_atomic_and_md5_checked(tmp_path):
    """The real download path, offline: a file:// URL stands in for the pinned https URL."""
    from ganaudit.data.cifar10 import download

    src, md5, _ = make_cifar_tarball(tmp_path / "mirror", per_batch=1)
    dest = download(tmp_path / "raw", url=src.as_uri(), md5=md5)
    assert dest.read_bytes() == src.read_bytes() and not list((tmp_path / "raw").glob("*.part"))
    with pytest.raises(DataError, match=r"bad checksum for .*raw2/cifar-10-python.tar.gz"):
        download(tmp_path / "raw2", url=src.as_uri(), md5="0" * 32)
