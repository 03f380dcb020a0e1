"""Before a study plans or launches anything: every dataset it trains on is prepared, the feature
extractor weights of its evaluation protocol are present and pinned, and its results directory is
writable. Missing reference statistics are only announced (the first evaluation computes and caches
them), with the command that makes them ahead of time.

    problems = preflight_study(spec, results_dir)   # DataError / WeightsError / OutputError, one line
"""

from __future__ import annotations

import logging
from pathlib import Path

from ganaudit.training.checks import check_writable, params_datasets
from ganaudit.utils.errors import DataError, GanauditError, WeightsError

__all__ = ["study_datasets", "preflight_study"]

log = logging.getLogger("ganaudit.study")


def study_datasets(spec) -> dict[str, dict]:
    """{dataset: {"data_dir", "protocol", "artifacts", "eval", "kernels"}} of the study's configurations, read
    from the training config each configuration composes to (base + configuration overrides), each
    validated (ConfigError)."""
    from ganaudit.training.config import compose, validate
    from ganaudit.utils.determinism import kernels_id

    needs: dict[str, dict] = {}
    for conf in spec.configurations:
        cfg = compose([*spec.base, *conf.overrides])
        validate(cfg)  # a bad option of the study file is a usage error (exit 2), reported first
        name = str(cfg.dataset.name)
        ev = cfg.get("eval") or {}
        needs.setdefault(name, {
            "data_dir": str(cfg.dataset.get("data_dir") or f"{cfg.paths.data}/{name}"),
            "protocol": str(ev.get("protocol", "auto")), "eval": bool(ev.get("enabled", False)),
            "artifacts": str(ev.get("artifacts_dir") or cfg.paths.artifacts),
            "kernels": kernels_id(str(cfg.get("determinism", "fast")))})
    return needs


def _stage(stage: str, name: str, command: str) -> str:
    """`dvc repro <stage>@<name>` when params.yaml lists the dataset, else the plain command."""
    return f"`dvc repro {stage}@{name}` (or `{command}`)" if name in params_datasets() else f"`{command}`"


def _check_dataset(name: str, need: dict) -> None:
    """DataError / WeightsError for one dataset; a log line when its reference statistics are missing."""
    from ganaudit.data import open_split

    view = open_split(name, "train", need["data_dir"])
    if not need["eval"]:
        return
    from ganaudit.metrics.features import EXTRACTORS
    from ganaudit.metrics.protocols import protocol_for
    from ganaudit.metrics.refstats import cache_path, key_fields

    proto = protocol_for(name, need["protocol"])
    real = view if proto.real_split == "train" else open_split(name, proto.real_split, need["data_dir"])
    weights = Path(need["artifacts"]) / "weights"
    try:
        extractor = EXTRACTORS.get(proto.extractor)(weights)
    except WeightsError as exc:
        cmd = f"python -m ganaudit.metrics.fetch_weights ensure {name} --out {weights} --data-dir {need['data_dir']}"
        raise WeightsError(f"{exc} (for dataset '{name}': {_stage('weights', name, cmd)})") from None
    n_cfg, _ = proto.counts(name)
    fields = key_fields(proto, name, real.manifest_digest, extractor.weights_sha256, n_cfg or len(real),
                        need.get("kernels", "portable-cpu"))
    if not cache_path(need["artifacts"], fields).is_file():
        cmd = (f"python -m ganaudit.metrics.refstats {name} --data-dir {need['data_dir']} "
               f"--artifacts {need['artifacts']}")
        log.warning("reference statistics of %s under protocol %s are not cached; the first evaluation "
                    "computes them (ahead of time: %s)", name, proto.name, _stage("refstats", name, cmd))


def preflight_study(spec, results_dir: str | Path, task: str) -> None:
    """Check the results directory, and for the ``train`` task every dataset the study needs; raise
    one error listing every problem found (the first one's type), before any run is planned."""
    check_writable(results_dir, "study results directory")
    if task != "train":
        return
    problems: list[GanauditError] = []
    for name, need in study_datasets(spec).items():
        try:
            _check_dataset(name, need)
        except (DataError, WeightsError) as exc:
            problems.append(exc)
    if problems:
        msg = " | ".join(str(p) for p in problems)
        raise type(problems[0])(f"study '{spec.name}' cannot start ({len(problems)} problem(s), nothing "
                                f"launched): {msg}")
