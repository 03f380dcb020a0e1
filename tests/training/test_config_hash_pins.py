"""Config hashes are the identity of committed results (runs/, the demo report's run keys): pinned here.

A change to the conf files, the schema or ``semantic_config`` that moves any of these hashes would
orphan every stored run of that configuration; the values below were computed before the schema
existed and must never be edited to make this test pass.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ganaudit.training.config import compose, config_hash

REPO = Path(__file__).resolve().parents[2]

PINS = {
    "0761e0bd15243d96": [],
    "b81c8885896e15f2": ["trainer=smoke", "arch.width=0.125"],
    "ccfabafe88479190": ["experiment=kurach2019/hub13"],
    "8870966301f47728": ["experiment=kurach2019/sndcgan_L05"],
    "8992e096adacaebe": ["experiment=kurach2019/resnet19_L09"],
    "93a114e70b67d87d": ["loss=wgan", "penalty=wgan_gp", "penalty.weight=1.0", "norm=none"],
    "90c36f5c9e675b58": ["penalty=dragan", "norm=layer", "arch=resnet19", "dataset=celeba_hq_128"],
    "1a8c61ab07cf9a72": ["penalty=l2", "norm=batch", "arch=resnet19", "dataset=lsun_bedroom", "hparams=table1_05"],
    "2473572c152381ac": ["dataset=cifar10", "arch=resnet_cifar", "trainer.precision=tf32", "optim.impl=torch",
                         "arch.init=v3"],
}


@pytest.mark.parametrize("expected, overrides", PINS.items(), ids=[" ".join(v) or "default" for v in PINS.values()])
def test_config_hash_is_pinned(expected, overrides):
    assert config_hash(compose(overrides)) == expected


def _demo_runs() -> dict[str, list[str]]:
    """config_hash -> the overrides that trained it, from the committed demo report."""
    with open(REPO / "audits" / "reports" / "demo" / "runs.csv", newline="") as fh:
        return {row["config_hash"]: json.loads(row["overrides"]) for row in csv.DictReader(fh)}


def test_demo_report_keys_are_reproduced():
    runs = _demo_runs()
    assert sorted(runs) == ["301836c2bfabc6f4", "7ce32cf70dee6e1c"]  # wgan+SN, hinge+SN (fixed-order convolutions)
    for key, overrides in runs.items():
        assert config_hash(compose(overrides)) == key, overrides


def test_run_time_and_ui_options_leave_the_hash_alone():
    base = config_hash(compose([]))
    for extra in (["logger=tensorboard"], ["logger=none"], ["trainer.num_workers=2", "trainer.stop_at=5"],
                  ["paths.root=/elsewhere", "seed=7"], ["trainer.keep=last", "trainer.accelerator=cpu"]):
        assert config_hash(compose(extra)) == base, extra
    assert config_hash(compose(["optim.lr=0.001"])) != base  # and it is not blind to what is trained
