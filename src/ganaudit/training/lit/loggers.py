"""Loggers of a training run: one log per run that a resumed run continues, and the evaluation
metrics (FID, IS, KID, MS-SSIM) sent to every Lightning logger beside ``evals.jsonl``.

``RunCSVLogger`` writes what Lightning's ``CSVLogger`` writes (``metrics.csv``: one row per logging
call, a ``step`` column, the header the sorted union of the keys; ``hparams.yaml``) at a fixed version,
but a restart continues the file instead of deleting it. On resume the rows of D steps at or after the
first step the resumed run logs are dropped (they were trained again after the last checkpoint), so
the file reads like that of an uninterrupted run. It implements Lightning's public ``Logger`` interface.
"""

from __future__ import annotations

import csv
import math
import os
from argparse import Namespace
from typing import Any, Iterable

import torch
from pytorch_lightning.core.saving import save_hparams_to_yaml
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities import rank_zero_only

__all__ = ["RunCSVLogger", "eval_metrics", "log_eval_metrics"]

EVAL_KEYS = ("fid", "is", "kid", "ms_ssim")


def _plain(value: Any) -> Any:
    """A tensor as its Python number (``item()``); anything else as it is."""
    return value.item() if isinstance(value, torch.Tensor) else value


class RunCSVLogger(Logger):
    """``<save_dir>/<name>/version_<version>/metrics.csv`` (and ``hparams.yaml``), continued rather than
    replaced by a resumed run. Defaults: ``name="logs"``, ``version=0``. Rows are written on ``save()``
    (Lightning calls it after each logging step) and every ``flush_logs_every_n_steps`` steps;
    ``prefix`` is put before each metric name as ``<prefix>-<name>``, as Lightning's loggers do."""

    METRICS_FILE = "metrics.csv"
    HPARAMS_FILE = "hparams.yaml"
    JOIN_CHAR = "-"

    def __init__(self, save_dir: str | os.PathLike, name: str = "logs", version: int | str = 0,
                 prefix: str = "", flush_logs_every_n_steps: int = 100) -> None:
        super().__init__()
        self._save_dir, self._name, self._version = os.fspath(save_dir), str(name), version
        self._prefix, self._flush_every = prefix, int(flush_logs_every_n_steps)
        self._pending: list[dict[str, Any]] = []   # rows not yet in the file
        self._keys: list[str] | None = None         # the file's header (read on first use)
        self._first_step: int | None = None
        self._hparams: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | str:
        return self._version

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def root_dir(self) -> str:
        return os.path.join(self._save_dir, self._name)

    @property
    def log_dir(self) -> str:
        version = self._version if isinstance(self._version, str) else f"version_{self._version}"
        return os.path.join(self.root_dir, version)

    @property
    def metrics_file(self) -> str:
        return os.path.join(self.log_dir, self.METRICS_FILE)

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace | None = None, *args: Any, **kwargs: Any) -> None:
        if params is None:
            return
        self._hparams.update(vars(params) if isinstance(params, Namespace) else dict(params))
        os.makedirs(self.log_dir, exist_ok=True)
        save_hparams_to_yaml(os.path.join(self.log_dir, self.HPARAMS_FILE), self._hparams)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if step is None:
            step = len(self._pending)
        step = int(step)
        if self._first_step is None:
            self._first_step = step
            self._drop_rows_from(step)
        sep = self.JOIN_CHAR if self._prefix else ""
        row = {f"{self._prefix}{sep}{k}": _plain(v) for k, v in metrics.items()}
        row["step"] = step
        self._pending.append(row)
        if (step + 1) % self._flush_every == 0:
            self.save()

    @rank_zero_only
    def save(self) -> None:
        super().save()
        if not self._pending:
            return
        keys = self._file_keys()
        new = set().union(*self._pending) - set(keys)
        exists = os.path.isfile(self.metrics_file)
        if new:
            self._keys = sorted({*keys, *new})
            if exists:  # a wider header: the file is written again
                self._rewrite(self._read_rows())
        os.makedirs(self.log_dir, exist_ok=True)
        with open(self.metrics_file, "a" if exists else "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self._keys)
            if not exists:
                writer.writeheader()
            writer.writerows(self._pending)
        self._pending = []

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()

    def _file_keys(self) -> list[str]:
        if self._keys is None:
            self._keys = []
            if os.path.isfile(self.metrics_file):
                with open(self.metrics_file, newline="") as fh:
                    self._keys = sorted(next(csv.reader(fh), []))
        return self._keys

    def _read_rows(self) -> list[dict[str, str]]:
        with open(self.metrics_file, newline="") as fh:
            return list(csv.DictReader(fh))

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        keys = self._file_keys()  # read before the file is truncated
        with open(self.metrics_file, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    def _drop_rows_from(self, step: int) -> None:
        """Remove rows with ``step >= step`` from an existing file (a resumed run logs them again)."""
        if not os.path.isfile(self.metrics_file):
            return
        rows = self._read_rows()
        keep = [r for r in rows if r.get("step") not in (None, "") and int(float(r["step"])) < step]
        if len(keep) != len(rows):
            self._rewrite(keep)


def eval_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """``{"eval/fid": ..., "eval/is": ..., ...}`` of an evaluation summary: the finite numbers of
    ``EVAL_KEYS`` only (a metric the protocol does not compute is None and is left out)."""
    out = {}
    for key in EVAL_KEYS:
        value = summary.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[f"eval/{key}"] = float(value)
    return out


def log_eval_metrics(loggers: Iterable[Any], summary: dict[str, Any], d_step: int) -> None:
    """Send the metrics of one evaluation at D step ``d_step`` to each Lightning logger and flush it."""
    metrics = eval_metrics(summary)
    if not metrics:
        return
    for logger in loggers:
        logger.log_metrics({**metrics, "d_step": float(d_step)}, step=int(d_step))
        logger.save()
