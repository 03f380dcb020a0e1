"""Describe a configuration without data or training: resolved config, parameter counts, output shapes.

    describe(compose(["arch=resnet19", "dataset=celeba_hq_128", "norm=layer"]))   # ganaudit describe ...

returns one JSON-able dict::

    {"config": {...resolved...}, "config_hash": "…", "generator_parameters": int,
     "discriminator_parameters": int, "generator_output_shape": [B, 3, R, R],
     "discriminator_output_shape": [B], "generator_output_range": [min, max], "batch": B}

Parameter counts are trainable parameters only (``requires_grad``); SN's ``u`` vectors and BN running
statistics are buffers and not counted. Shapes come from one forward pass of a batch of B = 2 latents
``z ~ U(-1,1)`` through G (eval mode) and of G's images through D (eval mode).
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig

from ganaudit.axes.archs import ARCHS, sample_z
from ganaudit.training.config import config_hash, to_plain, validate

__all__ = ["describe", "count_trainable"]


def count_trainable(module: torch.nn.Module) -> int:
    """Number of trainable scalars (``requires_grad`` parameters) of ``module``."""
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def describe(cfg: DictConfig, batch: int = 2) -> dict[str, Any]:
    """The JSON-able description of ``cfg`` (see module docstring); validates first (ConfigError)."""
    validate(cfg)
    a = cfg.arch
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = ARCHS.get(a.name).build(int(a.resolution), cfg.norm.name, float(a.width), int(a.z_dim),
                                       str(a.get("init", "v2")))
    G.eval(), D.eval()
    with torch.no_grad():
        images = G(sample_z(batch, int(a.z_dim), generator=gen))  # [B, 3, R, R] in [0, 1]
        logits = D(images)  # [B]
    return {
        "config": to_plain(cfg),
        "config_hash": config_hash(cfg),
        "generator_parameters": count_trainable(G),
        "discriminator_parameters": count_trainable(D),
        "generator_output_shape": list(images.shape),
        "discriminator_output_shape": list(logits.shape),
        "generator_output_range": [float(images.min()), float(images.max())],
        "batch": batch,
    }
