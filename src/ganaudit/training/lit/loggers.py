"""Loggers of a training run: one log per run that a resumed run continues, and the evaluation
metrics (FID, IS, KID, MS-SSIM) sent to every Lightning logger beside ``evals.jsonl``.

``RunCSVLogger`` is Lightning's CSVLogger at a fixed version whose ``metrics.csv`` survives a restart:
Lightning's own writer deletes an existing ``metrics.csv`` when it opens its directory. On resume the
rows of D steps at or after the first step the resumed run logs are dropped (they were trained again
after the last checkpoint), so the file reads like that of an uninterrupted run.
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any, Iterable

from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter

__all__ = ["RunCSVLogger", "eval_metrics", "log_eval_metrics"]

EVAL_KEYS = ("fid", "is", "kid", "ms_ssim")


class _ContinuingWriter(ExperimentWriter):
    """CSV writer that keeps an existing ``metrics.csv`` and its columns instead of deleting it."""

    def __init__(self, log_dir: str) -> None:
        self._first_new_step: int | None = None
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:  # Lightning's deletes metrics.csv here
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as fh:
                self.metrics_keys = sorted(next(csv.reader(fh), []))

    def log_metrics(self, metrics_dict: dict[str, float], step: int | None = None) -> None:
        if self._first_new_step is None and step is not None:
            self._first_new_step = int(step)
            self._drop_rows_from(int(step))
        super().log_metrics(metrics_dict, step)

    def _drop_rows_from(self, step: int) -> None:
        """Remove rows with ``step >= step`` from an existing file (a resumed run logs them again)."""
        if not self._fs.isfile(self.metrics_file_path):
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as fh:
            rows = list(csv.DictReader(fh))
        keep = [r for r in rows if r.get("step") not in (None, "") and int(float(r["step"])) < step]
        if len(keep) != len(rows):
            with self._fs.open(self.metrics_file_path, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(keep)


class RunCSVLogger(CSVLogger):
    """``CSVLogger(save_dir, name, version)`` whose ``<save_dir>/<name>/version_<version>/metrics.csv``
    is continued, not replaced, by a resumed run. Defaults: ``name="logs"``, ``version=0``."""

    def __init__(self, save_dir: str | os.PathLike, name: str = "logs", version: int | str = 0,
                 prefix: str = "", flush_logs_every_n_steps: int = 100) -> None:
        super().__init__(save_dir, name=name, version=version, prefix=prefix,
                         flush_logs_every_n_steps=flush_logs_every_n_steps)

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(log_dir=self.log_dir)
        return self._experiment


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
