"""Size a study before launching it: its runs and an estimate of their compute (``plan=true``).

    python -m ganaudit.study study=norm_slice_celebahq hydra/launcher=slurm launch.batch_size=64 plan=true

prints one row per configuration and hyperparameter mode (settings, seeds, runs, runs still to do,
architecture, penalty, D steps, seconds per D step, GPU hours) and the totals: GPU hours = runs x D
steps x seconds per D step, the step times being the measured ones of ``resources/step_costs.yaml``
(an architecture x penalty table with the GPU and benchmark they come from); the number of launcher
calls (with ``hydra/launcher=slurm``: SLURM arrays, each of at most ``launch.batch_size`` tasks, at most
``array_parallelism`` running at once) and the wall time if each array's tasks all run at once up to
that cap. Runs already finished in the results store are not counted as to do. Nothing is launched.
Last, the findings the study covers: its ``claims`` key (ids of ``audits/claims/kurach2019.yaml``,
checked against that file; ``ganaudit audit claims`` tests them once the study has run).

What the estimate leaves out: evaluation (an Inception FID of 10k fakes is ~5 s on the H200, about
0.1% of a 100K-step ResNet19 run), queueing, data loading on slow file systems, and widths/batch
sizes other than the measured ones (figures are at width 1, batch 64; a study at another size is
estimated as if it had those). n_dis 5 runs are estimated with the n_dis 1 (D+G) step: an upper bound.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from hydra.core.hydra_config import HydraConfig

from ganaudit.study.spec import Configuration, StudySpec
from ganaudit.study.store import ResultsStore
from ganaudit.training.config import compose
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.repo import repo_root

COSTS_PATH = Path(__file__).resolve().parents[1] / "resources" / "step_costs.yaml"
#: the findings file a study's ``claims`` key refers to (relative to the repository root)
CLAIMS_FILE = Path("audits") / "claims" / "kurach2019.yaml"


def study_claims(study: Any, claims_file: Path | None = None) -> tuple[list[str], Path | None]:
    """The ``claims`` ids of a study node, checked against the claims file's ids (ConfigError naming the
    study, the id and the nearest known one). Without the file (an installed package, no checkout) the
    ids are listed unchecked and the path is None."""
    raw = study.get("claims") if hasattr(study, "get") else None
    ids = [str(i) for i in (list(raw) if raw is not None else [])]
    if claims_file is None:
        root = repo_root()
        claims_file = root / CLAIMS_FILE if root is not None else None
    if claims_file is None or not Path(claims_file).is_file():
        return ids, None
    doc = yaml.safe_load(Path(claims_file).read_text()) or {}
    known = [str(c.get("id")) for c in doc.get("claims") or [] if isinstance(c, dict)]
    name = study.get("name") if hasattr(study, "get") else "?"
    for cid in ids:
        if cid not in known:
            near = difflib.get_close_matches(cid, known, n=1)
            hint = f"did you mean '{near[0]}'?" if near else f"expected ids of {claims_file}"
            raise ConfigError(f"study '{name}' field 'claims': '{cid}' is not a claim of {claims_file}; {hint}")
    return ids, Path(claims_file)


def load_costs(path: str | Path = COSTS_PATH) -> dict:
    """The step-time table (see ``resources/step_costs.yaml``)."""
    return yaml.safe_load(Path(path).read_text())


def step_seconds(costs: Mapping, arch: str, penalty: str, resolution: int) -> float | None:
    """Seconds per D step of ``arch`` at ``resolution`` px with ``penalty`` on the table's GPU, or None
    if not measured."""
    base = (costs.get("step_s") or {}).get(f"{arch}_{int(resolution)}")
    factor = ((costs.get("penalty_factor") or {}).get(arch) or {}).get(penalty)
    return None if base is None or factor is None else float(base) * float(factor)


@dataclass
class PlanRow:
    """The runs of one configuration under one hyperparameter mode."""

    label: str
    mode: str
    settings: int
    seeds: int
    runs: int
    todo: int
    arch: str            # <arch>-<resolution>, e.g. resnet19-128
    penalty: str
    d_steps: int
    step_s: float | None

    @property
    def run_s(self) -> float | None:
        """Estimated seconds of one run (D steps x seconds per D step)."""
        return None if self.step_s is None else self.d_steps * self.step_s

    @property
    def gpu_hours(self) -> float | None:
        return None if self.run_s is None else self.runs * self.run_s / 3600


@dataclass
class Plan:
    study: str
    rows: list[PlanRow]
    launcher: dict
    batch_size: int
    costs: dict
    calls: list[list[float | None]] = field(default_factory=list)   # per launcher call: run seconds
    warnings: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)                 # ids of the findings it covers
    claims_file: Path | None = None

    @property
    def runs(self) -> int:
        return sum(r.runs for r in self.rows)

    @property
    def todo(self) -> int:
        return sum(r.todo for r in self.rows)

    def gpu_hours(self, todo_only: bool = False) -> float:
        """Sum over estimated rows (rows without a measured step time are left out and warned about)."""
        return sum((r.todo if todo_only else r.runs) * r.run_s / 3600 for r in self.rows if r.run_s is not None)

    @property
    def concurrency(self) -> int:
        """How many runs of one launcher call run at once."""
        name, launcher = self.launcher.get("name", "local"), self.launcher
        if name.startswith("slurm") or "submitit" in name:
            return max(1, min(self.batch_size, int(launcher.get("array_parallelism") or self.batch_size)))
        return max(1, int(launcher.get("n_jobs") or 1))

    def wall_hours(self) -> float:
        """Launcher calls run one after another; within one, waves of ``concurrency`` runs."""
        total = 0.0
        for call in self.calls:
            known = [s for s in call if s is not None]
            if known:
                total += math.ceil(len(call) / self.concurrency) * max(known)
        return total / 3600


class _Facts:
    """arch, penalty, D steps and seconds per D step of each configuration, from its composed training
    config (cached per configuration: hyperparameters do not change them)."""

    def __init__(self, spec: StudySpec, costs: Mapping) -> None:
        self.spec, self.costs, self.cache = spec, costs, {}

    def __call__(self, config: Configuration) -> tuple[str, str, int, float | None]:
        if config.label not in self.cache:
            cfg = compose([*self.spec.base, *config.overrides])
            arch, penalty, res = str(cfg.arch.name), str(cfg.penalty.name), int(cfg.dataset.resolution)
            self.cache[config.label] = (f"{arch}-{res}", penalty, int(cfg.trainer.d_steps),
                                        step_seconds(self.costs, arch, penalty, res))
        return self.cache[config.label]


def _row(spec: StudySpec, config: Configuration, mode: str, runs: list, facts: _Facts,
         finished: set[tuple[str, ...]]) -> PlanRow:
    arch, penalty, d_steps, step_s = facts(config)
    todo = sum(tuple(r.overrides) not in finished for r in runs)
    settings = len({r.setting for r in runs})
    return PlanRow(config.label, mode, settings, len(spec.seeds_for(mode)), len(runs), todo, arch, penalty,
                   d_steps, step_s)


def static_rows(spec: StudySpec, facts: _Facts, finished: set[tuple[str, ...]]) -> tuple[list, list]:
    """Rows of the fixed/grid/random runs, and the to-do runs' seconds in launch order."""
    rows, todo_s = [], []
    runs = spec.expand_static()
    for config in spec.configurations:
        for mode in [m for m in spec.modes if m != "bo"]:
            mine = [r for r in runs if r.label == config.label and r.source == mode]
            if mine:
                row = _row(spec, config, mode, mine, facts, finished)
                rows.append(row)
                todo_s += [row.run_s] * row.todo
    return rows, todo_s


def bo_rows(spec: StudySpec, facts: _Facts, finished_bo: Mapping[str, int]) -> tuple[list, list]:
    """Rows of the BO groups (rounds x batch proposals x BO seeds each), and each round's run seconds."""
    # deferred: optuna's import time, for Bayesian-optimization studies only
    from ganaudit.study.bo import bo_groups, bo_options

    if "bo" not in spec.modes:
        return [], []
    opts = bo_options(spec)
    rounds, batch, seeds = int(opts["rounds"]), int(opts["batch"]), len(opts["seeds"])
    rows, per_round = [], []
    for g in bo_groups(spec):
        arch, penalty, d_steps, step_s = facts(g.config)
        runs = rounds * batch * seeds
        todo = max(0, runs - finished_bo.get(g.name, 0))
        rows.append(PlanRow(f"{g.config.label} (n_dis {g.n_dis})", "bo", rounds * batch, seeds, runs, todo, arch,
                            penalty, d_steps, step_s))
        per_round += [rows[-1].run_s] * (batch * seeds)
    return rows, [per_round] * rounds


def _chunks(seconds: list, size: int) -> list[list]:
    return [seconds[i:i + size] for i in range(0, len(seconds), size)]


def make_plan(spec: StudySpec, *, batch_size: int, launcher: Mapping[str, Any], records: Iterable[dict] = (),
              costs: Mapping | None = None) -> Plan:
    """The plan of ``spec``; ``records``: the results store's records (finished runs are not to do)."""
    costs = dict(costs or load_costs())
    finished = [r for r in records if r.get("status") in ("ok", "diverged")]
    done = {tuple(r.get("overrides") or ()) for r in finished if r.get("source") != "bo"}
    done_bo: dict[str, int] = {}
    for r in finished:
        if r.get("source") == "bo":
            done_bo[r.get("bo_group")] = done_bo.get(r.get("bo_group"), 0) + 1
    facts = _Facts(spec, costs)
    rows, todo_s = static_rows(spec, facts, done)
    brows, rounds = bo_rows(spec, facts, done_bo)
    plan = Plan(spec.name, rows + brows, dict(launcher), int(batch_size), costs)
    plan.calls = _chunks(todo_s, plan.batch_size) + [c for r in rounds for c in _chunks(r, plan.batch_size)]
    unmeasured = sorted({(r.arch, r.penalty) for r in plan.rows if r.step_s is None})
    if unmeasured:
        names = ", ".join(f"{a} with penalty {p}" for a, p in unmeasured)
        plan.warnings.append(f"no measured step time in {COSTS_PATH.name} for {names}: "
                             f"those runs are counted but not in the hours")
    if launcher.get("name") == "slurm" and not launcher.get("gpus_per_node"):
        plan.warnings.append("hydra/launcher=slurm without launch.gpus: the jobs ask SLURM for no GPU and "
                             "would train on CPU; add launch.gpus=1 on a GPU partition")
    return plan


def _fmt_h(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.1f}"


def render(plan: Plan) -> str:
    """A markdown table of the rows and the totals (what ``plan=true`` prints)."""
    head = ["configuration", "hparams", "settings", "seeds", "runs", "to do", "arch", "penalty", "D steps",
            "s / D step", "GPU h"]
    lines = [f"Study {plan.study}: plan (nothing launched)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in plan.rows:
        cells = [r.label, r.mode, r.settings, r.seeds, r.runs, r.todo, r.arch, r.penalty, f"{r.d_steps:,}",
                 "n/a" if r.step_s is None else f"{r.step_s:.4f}", _fmt_h(r.gpu_hours)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    name = plan.launcher.get("name", "local")
    kind = "SLURM arrays" if name.startswith("slurm") else "launcher calls"
    lines += ["", f"runs: {plan.runs:,} ({plan.todo:,} to do)",
              f"compute: {plan.gpu_hours():,.1f} GPU hours ({plan.gpu_hours(True):,.1f} to do) "
              f"on {plan.costs.get('gpu')}; step times from {plan.costs.get('source')}",
              f"{kind}: {len(plan.calls):,} of <= {plan.batch_size} runs (launch.batch_size), "
              f"{plan.concurrency} running at once (hydra/launcher={name})",
              f"wall time if each call's runs start at once up to that cap: {plan.wall_hours():,.1f} h"]
    covered = ", ".join(plan.claims) if plan.claims else "none (study key 'claims')"
    lines.append(f"findings covered ({CLAIMS_FILE}{'' if plan.claims_file else ', ids unchecked'}): {covered}")
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def launcher_facts() -> dict:
    """name, array_parallelism, n_jobs, gpus_per_node, partition of the running Hydra app's launcher."""
    hc = HydraConfig.get()
    node = hc.launcher
    facts = {"name": str(hc.runtime.choices.get("hydra/launcher", "local"))}
    for key in ("array_parallelism", "n_jobs", "gpus_per_node", "partition"):
        facts[key] = node.get(key) if key in node else None
    return facts


def plan_from_config(cfg: Any, launcher: Mapping[str, Any]) -> Plan:
    """The plan of the composed ``run_study`` config ``cfg`` with the launcher's ``launcher_facts``."""
    spec = StudySpec.from_run_config(cfg)  # the runs as launched, so finished ones are recognized
    claims, claims_file = study_claims(cfg.study)  # a wrong id is refused before anything is sized
    store = ResultsStore(Path(str(cfg.results_dir)))
    plan = make_plan(spec, batch_size=int(cfg.launch.batch_size), launcher=launcher, records=store.records())
    plan.claims, plan.claims_file = claims, claims_file
    return plan
