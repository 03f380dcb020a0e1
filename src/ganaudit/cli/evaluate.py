"""``ganaudit evaluate`` (= ``python -m ganaudit.evaluate``): score a reviewer's samples or generator.

    ganaudit evaluate samples=<.npz|.npy|png folder|checkpoint> [dataset=<name>] [protocol=<name>]
        [config=<run>/config.yaml] [data_dir=data/prepared/<dataset>] [artifacts=artifacts]
        [record=artifacts/evals/reviewer.jsonl] [device=cpu] [samples_range=0,1|-1,1|0,255]
        [trust_pickle=true]

The options are the Hydra config ``conf/evaluate.yaml`` (composed, not a Hydra app: no output
directory). Prints the evaluation record JSON (``ganaudit.metrics.evaluate.evaluate_samples``); exit 2
for a bad option, 1 for bad samples, data, weights or output location.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganaudit.training.config import compose
from ganaudit.utils.conf import PACKAGE_CONF
from ganaudit.utils.determinism import enforce
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.exits import run_cli

__all__ = ["compose_options", "main"]


def compose_options(argv: list[str]) -> DictConfig:
    """The ``evaluate`` config (``conf/evaluate.yaml``) composed by Hydra with ``argv`` overrides."""
    # "samples_range=-1,1" is a range, not a Hydra sweep: pass it as a string
    argv = [f"samples_range='{a.split('=', 1)[1]}'" if a.startswith("samples_range=") and "'" not in a
            and '"' not in a else a for a in argv]
    cfg = compose(argv, config_name="evaluate")
    if OmegaConf.is_missing(cfg, "samples"):
        raise ConfigError("missing option 'samples='; usage: ganaudit evaluate "
                          "samples=<.npz|.npy|folder|checkpoint> [dataset=<name>] [protocol=<name>]")
    return cfg


def _evaluate(argv: list[str]) -> int:
    opts = compose_options(argv)
    enforce(str(opts.determinism))  # the kernels training used: the same FID bits as training recorded
    # deferred: a bad argument is refused before torch is imported
    from ganaudit.metrics.evaluate import evaluate_samples
    from ganaudit.training.checks import check_device

    check_device(str(opts.device), "device", torch_device=True)

    record = evaluate_samples(
        Path(str(opts.samples)), dataset=opts.dataset.name if opts.get("dataset") else None,
        protocol=str(opts.protocol), data_dir=opts.data_dir, data_root=str(opts.paths.data),
        artifacts_dir=Path(str(opts.artifacts)), record_path=Path(str(opts.record)), device=str(opts.device),
        config=opts.config, samples_range=opts.get("samples_range"), trust_pickle=bool(opts.trust_pickle))
    print(json.dumps(record, indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Print the record JSON; exit 2 on a bad option, 1 on bad samples/data/weights/output."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__ + "\nOptions (the packaged evaluate.yaml):\n" + (PACKAGE_CONF / "evaluate.yaml").read_text())
        return 0
    return run_cli(_evaluate, argv)
