"""CLI entry points and raw-input inventories (the DVC fetch stage)."""

from __future__ import annotations

import json

import pytest

from ganaudit.cli.data import main
from ganaudit.data.inventory import DigestCache, write_inventory
from ganaudit.utils.hashing import sha256_file

from .builders import make_cifar_tarball


def test_info_lists_every_dataset_with_its_raw_location(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "cifar10", "celeba_hq_128", "lsun_bedroom"):
        assert f"{name}:" in out
    assert "data/raw/lsun_bedroom/bedroom_train_lmdb/data.mdb" in out


def test_digits_inventory_is_byte_stable(tmp_path):
    p = write_inventory("digits", tmp_path / "raw", tmp_path / "inv")
    first = p.read_bytes()
    assert json.loads(first)["count"] == 1797
    assert write_inventory("digits", tmp_path / "raw", tmp_path / "inv").read_bytes() == first


def test_fetch_stops_with_the_file_to_put_where(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANAUDIT_ROOT", str(tmp_path))
    assert main(["fetch", "lsun_bedroom"]) == 1
    err = capsys.readouterr().err
    assert "missing LMDB" in err and "bedroom_train_lmdb/data.mdb" in err
    assert main(["fetch", "celeba_hq_128"]) == 1
    assert "30,000 CelebA-HQ images" in capsys.readouterr().err
    # a present but wrong CIFAR tarball is never replaced silently
    make_cifar_tarball(tmp_path / "data" / "raw" / "cifar10", per_batch=1)
    assert main(["fetch", "cifar10"]) == 1
    assert "bad checksum" in capsys.readouterr().err
    assert main(["prepare", "nope"]) == 2


def test_digest_cache_reuses_until_the_file_changes(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    cache = DigestCache(tmp_path / "c.json")
    assert cache.digest(f) == sha256_file(f)
    cache.save()
    f.write_bytes(b"abcd")
    assert DigestCache(tmp_path / "c.json").digest(f) == sha256_file(f)


def test_inventory_for_unknown_rule_and_cli_prepare_verify(tmp_path, capsys):
    from ganaudit.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown dataset 'mnist'"):
        write_inventory("mnist", tmp_path, tmp_path)
    out, splits = tmp_path / "store", tmp_path / "splits"
    args = ["--out", str(out), "--splits", str(splits)]
    assert main(["prepare", "digits", *args, "--n-total", "200", "--n-test", "20", "--workers", "1",
                 "--no-progress"]) == 0
    assert "commit it" in capsys.readouterr().err  # logged (ganaudit.data.prepare), shown on stderr
    assert main(["verify", "digits", *args]) == 0
    assert main(["prepare", "digits", *args, "--n-total", "200", "--n-test", "30", "--workers", "1",
                 "--no-progress"]) == 1
    assert "n_test is 30; the manifest pins 20" in capsys.readouterr().err
