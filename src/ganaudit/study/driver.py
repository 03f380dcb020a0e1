"""Run a study: plan its runs, skip finished ones, launch the rest in batches, then the BO rounds.

    summary = run_study(spec, results_dir, task="train", launcher=InlineLauncher())

Re-running is safe at any point: a run whose record is ``ok`` or ``diverged`` is never launched again
(key = config hash + seed), a ``failed`` or missing one is (re)launched, and BO resumes from its
journal (see :mod:`ganaudit.study.bo`). Records are written by the jobs themselves, one per run, so a
study killed mid-way loses at most the runs that were in flight.

One study at a time per results store: :meth:`StudyDriver.run` holds the store's lock
(``ganaudit.utils.locks.exclusive``) from before planning until it returns or raises; a second study
on the same store is refused (LockedError, exit 1) before writing anything.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ganaudit.study.launch import BatchLauncher, InlineLauncher
from ganaudit.study.runner import interrupted_result, read_plan, store_record, write_plan
from ganaudit.study.spec import RunSpec, StudySpec
from ganaudit.study.store import FINISHED, ResultsStore, atomic_write_json, run_key
from ganaudit.study.tasks import STUDY_TASKS
from ganaudit.utils.errors import ConfigError, Interrupted
from ganaudit.utils.locks import exclusive

log = logging.getLogger(__name__)


class StudyProgress:
    """A rich progress bar over a study's launched runs (the total grows as BO rounds are planned).

    The bar is stopped while a batch runs (:meth:`paused`) and drawn again after it: runs in this
    process show their own bars (Lightning's ``RichProgressBar`` reconfigures and clears rich's global
    console, which would drop a live study bar from the console's stack and make its final ``stop``
    fail with ``IndexError: pop from empty list``), and two live displays would overwrite each other.
    """

    def __init__(self, description: str) -> None:
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn())
        self._task = self._bar.add_task(description, total=0)

    def __enter__(self) -> "StudyProgress":
        self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No live bar in the block (the last drawn bar stays on screen); drawn again after it."""
        live = self._bar.live.is_started
        if live:
            self._bar.stop()
        try:
            yield
        finally:
            if live:
                self._bar.start()

    def add_total(self, n: int) -> None:
        total = self._bar.tasks[0].total or 0
        self._bar.update(self._task, total=total + n)

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)


class StudyDriver:
    """Holds the plan of one study invocation and executes batches of runs through a launcher."""

    def __init__(self, spec: StudySpec, results_dir: str | Path, *, task: str = "train",
                 task_options: Mapping[str, Any] | None = None, launcher: BatchLauncher | None = None,
                 batch_size: int = 8, progress: "StudyProgress | None" = None) -> None:
        if batch_size < 1:
            raise ConfigError(f"study launch batch size must be >= 1, got {batch_size}")
        self.spec = spec
        self.root = Path(results_dir).resolve()
        self.store = ResultsStore(self.root)
        self.task_name = task
        self.task = STUDY_TASKS.get(task)
        self.task_options = dict(task_options or {})
        self.launcher = launcher or InlineLauncher()
        self.batch_size = int(batch_size)
        self.plan_path = self.root / "plan.json"
        self.entries: dict[str, dict] = {}
        self.counts = {"planned": 0, "skipped_finished": 0, "launched": 0, "lost_jobs": 0}
        self.progress = progress
        self._hash_cache: dict[tuple[str, ...], str] = {}

    # -------------------------------------------------------------- planning
    def assign_keys(self, runs: Sequence[RunSpec]) -> list[RunSpec]:
        """Set ``config_hash`` and ``key`` of each run; a key planned twice is run once (first wins)."""
        unique = []
        for run in runs:
            semantic = tuple(o for o in run.overrides if not o.startswith("seed="))
            if semantic not in self._hash_cache:
                self._hash_cache[semantic] = self.task.config_hash(run.overrides)
            run.config_hash = self._hash_cache[semantic]
            run.key = run_key(run.config_hash, run.seed)
            if run.key not in self.entries:
                self.entries[run.key] = run.to_dict()
                unique.append(run)
        return unique

    def execute(self, runs: Sequence[RunSpec]) -> None:
        """Plan ``runs`` and launch those not finished, ``batch_size`` jobs per launcher call."""
        runs = self.assign_keys(runs)
        self.counts["planned"] += len(runs)
        finished = self.store.finished_keys()
        todo = [r.key for r in runs if r.key not in finished]
        self.counts["skipped_finished"] += len(runs) - len(todo)
        if self.progress is not None:
            self.progress.add_total(len(todo))
        write_plan(self.plan_path, study=self.spec.name,
                   task={"name": self.task_name, "options": self.task_options},
                   store=self.root, runs=self.entries)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            try:
                with self.progress.paused() if self.progress is not None else nullcontext():
                    self.counts["lost_jobs"] += self.launcher.launch(batch, self.plan_path)
            except Interrupted as exc:
                raise self._interrupted(batch, exc) from None
            self.counts["launched"] += len(batch)
            if self.progress is not None:
                self.progress.advance(len(batch))

    def _interrupted(self, batch: Sequence[str], exc: Interrupted) -> Interrupted:
        """Record the batch's in-flight runs as ``interrupted`` and say so. An in-process run stored its
        own record (``runner.execute_entry``); the jobs of a process-parallel launcher all ran at once,
        so each of them without a finished record is marked here (its worker ends with the study)."""
        in_process = isinstance(self.launcher, InlineLauncher) or getattr(self.launcher, "name", "") == "BasicLauncher"
        if not in_process:
            entries = read_plan(self.plan_path)["runs"]
            for key in batch:
                rec = self.store.get(key)
                if rec is None or rec.get("status") not in (*FINISHED, "interrupted"):
                    store_record(self.store, entries[key], key, interrupted_result(entries[key], exc, 0.0),
                                 time.perf_counter())
        stopped = sorted(k for k in batch if (self.store.get(k) or {}).get("status") == "interrupted")
        return Interrupted(exc.signum, f"study '{self.spec.name}' stopped by {exc.signame}: run(s) "
                                       f"{', '.join(stopped) or '(none in flight)'} recorded as interrupted in "
                                       f"'{self.root}'; rerun the same command to resume them (finished runs "
                                       "are kept)")

    def outcome(self, run: RunSpec) -> float | str:
        """A run's outcome for BO: fid_min, ``nonfinite`` (finished, no finite FID) or ``pending``."""
        rec = self.store.get(run.key)
        if rec is None or rec.get("status") not in FINISHED:
            return "pending"
        fid = rec.get("fid_min")
        return float(fid) if fid is not None else "nonfinite"

    # ------------------------------------------------------------------ run
    def static_runs(self) -> list[RunSpec]:
        return self.spec.expand_static()

    def run(self) -> dict:
        """Run every mode of the study, holding the results store's lock; return and write
        ``<results>/summary.json``. LockedError (nothing written) if another study holds the store."""
        with exclusive(self.root, what="results store",
                       hint=" (rerunning this study after it ends resumes it: finished runs are kept)"):
            return self._run()

    def _run(self) -> dict:
        t0 = time.perf_counter()
        self.execute(self.static_runs())
        if "bo" in self.spec.modes:
            # deferred: optuna's import time, for Bayesian-optimization studies only
            from ganaudit.study.bo import BayesOpt

            bo = BayesOpt(self.spec, self.root / "bo.journal")
            bo.run(self.execute, self.outcome)
            self.counts["planned"] += len(self.assign_keys(bo.all_runs()))  # rounds finished earlier
        statuses: dict[str, int] = {}
        for key in self.entries:
            rec = self.store.get(key)
            status = rec.get("status") if rec else "missing"
            statuses[status] = statuses.get(status, 0) + 1
        summary = {"study": self.spec.name, "task": self.task_name, "results_dir": str(self.root),
                   **self.counts, "statuses": statuses, "wall_time_s": time.perf_counter() - t0}
        atomic_write_json(self.root / "summary.json", summary)
        self.store.export(self.root)
        return summary
