"""``ganaudit train <overrides>`` (= ``python -m ganaudit.train``): train one configuration, print the
result JSON (docs/CONTRACTS.md §4); exit 1 if the run failed, 2 for a bad override.

    ganaudit train loss=ls penalty=wgan_gp penalty.weight=10 norm=spectral arch=sndcgan seed=3
    ganaudit train trainer=smoke arch.width=0.125          # a few D steps on the CPU

The work is :func:`ganaudit.training.train.train`, which returns the result; this module only prints it.
"""

from __future__ import annotations

import json

from omegaconf import DictConfig

from ganaudit.cli.hydra_app import hydra_app
from ganaudit.training.checks import run_exit_code
from ganaudit.training.train import train

__all__ = ["main"]


@hydra_app("config")
def main(cfg: DictConfig) -> int:
    """Train, print the result JSON; exit 1 if the run failed."""
    result = train(cfg)
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return run_exit_code(result)
