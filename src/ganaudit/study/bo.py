"""Sequential Bayesian optimisation of a study's hyperparameters (spec §5.3-§5.4).

Per configuration and per n_dis value (a *BO group*), ``rounds`` rounds (12) of ``batch`` proposals (10)
are asked from optuna's ``GPSampler`` before any of them is told; the proposals of a round are trained
through the study's launcher, and each is told its objective: the run's minimum FID over evaluated
checkpoints (``fid_min``, what [V2] reported to Vizier). The search space is ICML Table 2: lr
log-uniform [1e-5, 1e-2], β1 and β2 uniform [0, 1], λ log-uniform ([1e-1, 1e2] for GP/DR,
[1e-4, 1e1] for L2; absent without a penalty).

UNCONFIRMED in the study (spec §11), chosen here and configurable under ``study.hparams.bo``:
  * surrogate/acquisition: optuna 5's GPSampler defaults (Matérn-5/2 GP, log-EI); the first
    ``n_startup_trials`` (default 10 = the whole first round) are seeded random proposals;
  * batch proposals: asked one after another with the earlier ones pending (optuna's handling of
    running trials), not a joint q-batch acquisition;
  * a diverged run without any finite FID is told FAIL (``diverged_value: null``) or the given number;
  * a *failed* run (crash, not divergence) is not told: its trial stays RUNNING and the next invocation
    of the study retrains it.

Resumable: every group is an optuna study in one JournalStorage file (``<results>/bo.journal``). A
killed study resumes with the trials it already asked, their rounds, and the results already stored.
Determinism: the sampler is seeded per group (``seed`` + CRC32 of the group name), so a fresh BO with
the same seed and the same results proposes the same settings; after a resume the sampler's random
state restarts, so later proposals may differ from an uninterrupted run's.
"""

from __future__ import annotations

import math
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from ganaudit.study.hparams import TABLE2, lambda_range
from ganaudit.study.spec import Configuration, RunSpec, StudySpec
from ganaudit.utils.errors import ConfigError

BETA_MAX = 1.0 - 1e-6

#: outcome of a run as the BO sees it: a finite objective, "nonfinite" (diverged, no FID), "pending".
Outcome = float | str


@dataclass
class BOGroup:
    """One BO search: a configuration at a fixed n_dis (spec §5.3: n_dis ∈ {1, 5}, 120 settings each)."""

    config: Configuration
    n_dis: int

    @property
    def name(self) -> str:
        return f"{self.config.label}|n_dis={self.n_dis}"


def bo_options(spec: StudySpec) -> dict:
    """``study.hparams.bo`` with defaults filled in (12 rounds × 10, n_dis {1,5}, seed 0)."""
    opts = {"rounds": 12, "batch": 10, "n_dis": [1, 5], "seed": 0, "seeds": [0],
            "n_startup_trials": 10, "diverged_value": None, "lr": TABLE2["lr"],
            # Table 2 says [0, 1]; Adam is undefined at beta = 1 (bias correction 1 - beta^t = 0) and
            # config.validate demands beta < 1, while BO's optimiser can land on a bound exactly.
            "beta1": [0.0, BETA_MAX], "beta2": [0.0, BETA_MAX]}
    opts.update(spec.hparams.get("bo") or {})
    if int(opts["rounds"]) < 1 or int(opts["batch"]) < 1:
        raise ConfigError(f"study.hparams.bo: rounds and batch must be >= 1, got {opts['rounds']}, {opts['batch']}")
    return opts


def bo_groups(spec: StudySpec) -> list[BOGroup]:
    """All BO groups of a study (configurations × n_dis values admitted by each configuration's filter)."""
    opts = bo_options(spec)
    return [BOGroup(c, int(nd)) for c in spec.configurations for nd in opts["n_dis"]
            if c.admits({"n_dis": int(nd)}) or "n_dis" not in c.only]


def distributions(group: BOGroup, opts: Mapping) -> dict[str, FloatDistribution]:
    """The search space of ``group``: lr (log), beta1, beta2, and lambda (log) if it has a penalty."""
    dists = {"lr": FloatDistribution(*map(float, opts["lr"]), log=True),
             "beta1": FloatDistribution(*map(float, opts["beta1"])),
             "beta2": FloatDistribution(*map(float, opts["beta2"]))}
    lam = lambda_range(group.config.penalty, opts)
    if lam is not None:
        dists["lambda"] = FloatDistribution(*lam, log=True)
    return dists


def open_storage(path: str | Path) -> optuna.storages.JournalStorage:
    """The JournalStorage (file backend, lock-protected appends) that holds every BO group."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)


def _sampler(group: BOGroup, opts: Mapping) -> optuna.samplers.GPSampler:
    seed = (int(opts["seed"]) + zlib.crc32(group.name.encode())) % (2**31)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=int(opts["n_startup_trials"]))


def _runs_of(spec: StudySpec, group: BOGroup, trial: optuna.trial.FrozenTrial, opts: Mapping) -> list[RunSpec]:
    setting = {**{k: float(v) for k, v in trial.params.items()}, "n_dis": group.n_dis}
    return [spec.run_for(group.config, setting, "bo", seed, bo_group=group.name,
                         bo_round=int(trial.user_attrs["round"]), bo_trial=int(trial.number))
            for seed in opts["seeds"]]


class BayesOpt:
    """Drives the BO groups of a study round by round through ``launch`` (see :meth:`run`)."""

    def __init__(self, spec: StudySpec, storage_path: str | Path | None) -> None:
        """``storage_path``: the journal file; None keeps the studies in memory (not resumable)."""
        self.spec = spec
        self.opts = bo_options(spec)
        self.storage = open_storage(storage_path) if storage_path is not None else optuna.storages.InMemoryStorage()
        self.groups = bo_groups(spec)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.studies = {g.name: optuna.create_study(
            study_name=f"{spec.name}|{g.name}", storage=self.storage, direction="minimize",
            sampler=_sampler(g, self.opts), load_if_exists=True) for g in self.groups}

    def propose_round(self, r: int) -> list[tuple[BOGroup, optuna.trial.FrozenTrial]]:
        """Ask each group for round ``r``'s missing proposals; return the round's trials not yet told."""
        out = []
        for g in self.groups:
            study = self.studies[g.name]
            have = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("round") == r]
            dists = distributions(g, self.opts)
            for _ in range(int(self.opts["batch"]) - len(have)):
                trial = study.ask(dists)          # asked while the earlier ones are still pending
                trial.set_user_attr("round", r)
            for t in study.get_trials(deepcopy=False):
                if t.user_attrs.get("round") == r and t.state == TrialState.RUNNING:
                    out.append((g, t))
        return out

    def run(self, launch: Callable[[list[RunSpec]], None],
            outcome: Callable[[RunSpec], Outcome], progress: Callable[[int, int], None] | None = None) -> None:
        """All rounds: propose, ``launch`` the runs (the launcher skips finished ones), tell outcomes.

        ``outcome(run)`` returns the run's ``fid_min`` (float), ``"nonfinite"`` (finished without a finite
        FID) or ``"pending"`` (failed or not run: the trial stays RUNNING for the next invocation).
        """
        rounds = int(self.opts["rounds"])
        for r in range(rounds):
            todo = self.propose_round(r)
            runs = {(g.name, t.number): _runs_of(self.spec, g, t, self.opts) for g, t in todo}
            launch([run for rs in runs.values() for run in rs])
            for g, t in todo:
                self._tell(g, t, [outcome(run) for run in runs[(g.name, t.number)]])
            if progress is not None:
                progress(r + 1, rounds)

    def _tell(self, group: BOGroup, trial: optuna.trial.FrozenTrial, outcomes: Sequence[Outcome]) -> None:
        if any(o == "pending" for o in outcomes):
            return
        finite = [float(o) for o in outcomes if not isinstance(o, str) and math.isfinite(float(o))]
        study = self.studies[group.name]
        if finite:
            study.tell(trial.number, sum(finite) / len(finite))
        elif self.opts["diverged_value"] is not None:
            study.tell(trial.number, float(self.opts["diverged_value"]))
        else:
            study.tell(trial.number, state=TrialState.FAIL)

    def all_runs(self) -> list[RunSpec]:
        """The runs of every trial asked so far (all rounds, any state), for accounting and reports."""
        return [run for g in self.groups for t in self.studies[g.name].get_trials(deepcopy=False)
                if "round" in t.user_attrs for run in _runs_of(self.spec, g, t, self.opts)]

    def proposals(self) -> list[dict]:
        """Every asked setting: group, round, trial number, params, state (for tests and reports)."""
        out = []
        for g in self.groups:
            for t in self.studies[g.name].get_trials(deepcopy=False):
                out.append({"group": g.name, "round": t.user_attrs.get("round"), "trial": t.number,
                            "params": dict(t.params), "state": t.state.name, "value": t.value})
        return out
