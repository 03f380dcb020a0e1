"""Write the audit of a study: CSV tables, PNG figures, ``metrics.json`` and a markdown report.

    paths = write_audit("results/studies/demo", "audits/reports/demo", AuditOptions())

Output directory (all regenerated from the results store; a reviewer needs only ``report.md``)::

    report.md          the report, figures embedded, verdict rule stated
    runs.csv           every run (status ok/diverged/failed, reason, FIDs, hyperparameters)
    seed_variance.csv  per configuration x setting: median, IQR, min/max, bootstrap CI
    top5.csv/.png      top-fraction FID distribution per configuration
    budget.csv/.png    FID vs computational budget (the paper's simulation)
    curves.csv, curves_fid.png, curves_loss.png   FID and losses vs D step per configuration
    verdicts.csv       one row per published row the study covers
    metrics.json       headline numbers for `dvc metrics show` (incl. the real-data floor and median / floor)
    samples/*.png      per configuration its best run's sample grid, and real test images (audit.samples)
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ganaudit.audit.budget import NAN_FID_SENTINEL, budget_curves
from ganaudit.audit.curves import CURVES_SECTION, write_curves
from ganaudit.audit.plots import budget_plot, top5_boxplot
from ganaudit.audit.samples import samples_section
from ganaudit.audit.stats import add_scores, seed_variance
from ganaudit.audit.top5 import top_fraction
from ganaudit.audit.verdict import RULE, load_published, verdicts
from ganaudit.study.store import ResultsStore
from ganaudit.utils.errors import DataError


@dataclass
class AuditOptions:
    """Every choice of the audit (UNCONFIRMED items of spec §6.6/§11 included); all are in the report."""

    metric: str = "fid_min"            # fid_min | fid_final (spec §6.2, UNCONFIRMED which the paper used)
    ci_level: float = 0.95
    n_boot: int = 10_000
    bootstrap_seed: int = 0
    top_fraction: float = 0.05
    top_pool: str = "runs"             # runs | setting_medians
    top_min_models: int = 1
    budget_reps: int = 1000
    budget_seed: int = 0
    seed_pick: str = "random"          # random | median
    explore_order: str = "sequential"  # sequential | shuffled
    unscored_fid: float = NAN_FID_SENTINEL
    min_seeds: int = 3
    rel_tol: float = 5e-3
    match_d_steps: bool = True
    floor_max_images: int = 2000       # compute the real-data floor only up to this many images (CPU cost)



# Provenance fields that differ from run to run; the report lists what is common to the protocol.
_PER_RUN = {"argv", "config_hash", "context", "time", "time_utc", "git_commit", "seed", "step", "run_id", "record_path"}


def _protocol_fields(prov: dict) -> str:
    """One protocol's provenance as `key=value` items, without the per-run fields."""
    items = [f"`{k}={json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v}`"
             for k, v in sorted(prov.items()) if k not in _PER_RUN]
    return ", ".join(items)

def _fmt(x, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    """A markdown table of ``frame[columns]`` (floats with 2 decimals)."""
    if frame.empty:
        return "_(none)_\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame[columns].iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _provenance(records: list[dict]) -> dict:
    """Code versions, evaluation protocols and their provenance keys seen in the records."""
    versions = sorted({str(r.get("code_version")) for r in records if r.get("code_version")})
    protocols = {}
    for rec in records:
        for ev in rec.get("evals") or []:
            prov = ev.get("provenance") or {}
            name = str(prov.get("protocol", "?"))
            protocols.setdefault(name, prov)
    return {"code_versions": versions, "protocols": protocols}


def _training_numerics(records: list[dict]) -> str:
    """One sentence on the data order, Adam and GPU precision of the runs, read from their configs."""
    cfgs = [(r.get("config") or {}, r.get("seed")) for r in records]
    data = sorted({str(c.get("data_seed", "seed (no data_seed key: older ganaudit)")) for c, _ in cfgs})
    if len(data) > 1 and all(c.get("data_seed") == seed for c, seed in cfgs):
        order = "`data_seed = seed` (each seed its own data order, not the study's)"
    elif data == ["547"]:
        order = "`data_seed = 547` for every run (one data order for all seeds, as the study's DEFAULT_DATASET_SEED)"
    else:
        order = f"`data_seed` in {{{', '.join(data)}}}"
    adam = sorted({str((c.get("optim") or {}).get("impl", "torch (no optim.impl key: older ganaudit)"))
                   for c, _ in cfgs})
    prec = sorted({str((c.get("trainer") or {}).get("precision", "?")) for c, _ in cfgs})
    return (f"Training numerics of the runs: data order {order}; Adam `optim.impl` = {', '.join(adam)}; "
            f"`trainer.precision` = {', '.join(prec)}.\n\n")


def write_audit(results_dir: str | Path, out_dir: str | Path, options: AuditOptions | None = None,
                baselines: str | Path | None = None, data_root: str | Path | None = None,
                artifacts_dir: str | Path | None = None) -> dict[str, Path]:
    """Audit the study stored in ``results_dir`` into ``out_dir``; returns the written paths.
    ``data_root`` (prepared stores, e.g. data/prepared) and ``artifacts_dir`` give the real-data floor
    and the real-image grid (``ganaudit.audit.samples``); without them the report says so."""
    opts = options or AuditOptions()
    store = ResultsStore(results_dir)
    records = store.records()
    if not records:
        raise DataError(f"no run records in {store.records_dir}; run the study first "
                        "(python -m ganaudit.study study=<name>)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = add_scores(store.frame(), opts.metric)
    study = str(runs["study"].dropna().iloc[0]) if runs["study"].notna().any() else "?"
    variance = seed_variance(runs, metric=opts.metric, level=opts.ci_level, n_boot=opts.n_boot,
                             seed=opts.bootstrap_seed)
    top = top_fraction(runs, fraction=opts.top_fraction, pool=opts.top_pool,
                       min_models=opts.top_min_models, metric=opts.metric)
    curves = budget_curves(runs, reps=opts.budget_reps, seed=opts.budget_seed, seed_pick=opts.seed_pick,
                           explore_order=opts.explore_order, unscored_fid=opts.unscored_fid,
                           metric=opts.metric)
    published = load_published(baselines) if baselines else None
    verd = (verdicts(runs, published, variance, min_seeds=opts.min_seeds, rel_tol=opts.rel_tol,
                     match_d_steps=opts.match_d_steps) if published is not None else pd.DataFrame())
    paths = {"runs": out / "runs.csv", "seed_variance": out / "seed_variance.csv", "top5": out / "top5.csv",
             "budget": out / "budget.csv", "verdicts": out / "verdicts.csv", "metrics": out / "metrics.json",
             "report": out / "report.md"}
    runs.to_csv(paths["runs"], index=False)
    variance.to_csv(paths["seed_variance"], index=False)
    top.assign(top_scores=top["top_scores"].map(json.dumps)).to_csv(paths["top5"], index=False)
    curves.to_csv(paths["budget"], index=False)
    verd.to_csv(paths["verdicts"], index=False)
    paths["top5_png"] = top5_boxplot(top, out / "top5.png", title=f"{study}: top {opts.top_fraction:.0%} "
                                     f"{opts.metric} per configuration (pool: {opts.top_pool})")
    paths["budget_png"] = budget_plot(curves, out / "budget.png", title=f"{study}: mean min {opts.metric} "
                                      f"vs budget ({opts.budget_reps} repetitions)")
    paths.update(write_curves(records, out, study))
    prov = _provenance(records)
    samples, floor = samples_section(runs, records, variance, out, metric=opts.metric, data_root=data_root,
                              artifacts_dir=artifacts_dir, floor_max_images=opts.floor_max_images)
    metrics = {**_metrics(study, runs, variance, verd), "score": opts.metric,
               "protocols": ",".join(sorted(prov["protocols"])), "code_versions": ",".join(prov["code_versions"]),
               "data_seeds": ",".join(sorted({str((r.get("config") or {}).get("data_seed")) for r in records})),
               **floor}  # floor, best_median_over_floor, effects_larger_than_seed_spread
    paths["metrics"].write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    prov["training"] = _training_numerics(records)
    paths["report"].write_text(_report(study, runs, variance, top, curves, verd, published, opts, prov, samples)
                               + CURVES_SECTION)
    return paths


def _metrics(study: str, runs: pd.DataFrame, variance: pd.DataFrame, verd: pd.DataFrame) -> dict:
    status = runs["status"].value_counts()
    per_label = {}
    for label, grp in runs.groupby("label", sort=True):
        per_label[str(label)] = {"best_fid": _nan_none(grp["score"].min()),
                                 "median_fid": _nan_none(grp["score"].median()),
                                 "n_runs": int(len(grp)), "n_diverged": int((grp["status"] == "diverged").sum())}
    counts = verd["verdict"].value_counts() if not verd.empty else {}
    return {"study": study, "n_runs": int(len(runs)), "n_ok": int(status.get("ok", 0)),
            "n_diverged": int(status.get("diverged", 0)), "n_failed": int(status.get("failed", 0)),
            "configurations": per_label,
            "verdicts": {v: int(counts.get(v, 0)) for v in ("reproduced", "better", "worse", "too few seeds")}}


def _nan_none(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _report(study, runs, variance, top, curves, verd, published, opts, prov, samples: str = "") -> str:
    n = runs["status"].value_counts()
    diverged = runs[runs["status"] != "ok"]
    best = curves.groupby("label")["mean_min_fid"].agg(["first", "last"]).reset_index() if len(curves) else curves
    parts = [
        f"# Audit of study `{study}`\n\n",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `ganaudit.audit` from the results "
        f"store. Code versions of the runs: {', '.join(prov['code_versions']) or 'unknown'}.\n\n",
        prov["training"],
        "Evaluation protocols (provenance of every FID; lower FID is better):\n\n",
        *[f"- `{name}`: {_protocol_fields(p)}\n" for name, p in prov["protocols"].items()],
        f"\nScore of a run: `{opts.metric}`. Options: `{json.dumps(asdict(opts), sort_keys=True)}`\n",
        "\n## Runs\n\n",
        f"{len(runs)} runs: {int(n.get('ok', 0))} ok, {int(n.get('diverged', 0))} diverged, "
        f"{int(n.get('failed', 0))} failed. Every run of the store is in `runs.csv`.\n",
        "\n### Runs that did not finish ok (diverged or failed)\n\n",
        _table(diverged, ["key", "label", "setting", "seed", "status", "diverged_step", "reason", "score"]),
        "\n## Seed variance per configuration and setting\n\n",
        f"Median, quartiles, min/max over seeds; CI = percentile bootstrap {opts.ci_level:.0%} CI of the median "
        f"({opts.n_boot} resamples, seed {opts.bootstrap_seed}). n_scored counts seeds with a finite score.\n\n",
        _table(variance, ["label", "setting", "n_runs", "n_ok", "n_diverged", "n_failed", "n_scored", "median",
                          "q1", "q3", "min", "max", "ci_lo", "ci_hi"]),
        samples,
        f"\n## Top {opts.top_fraction:.0%} FID distribution per configuration\n\n",
        f"Pool `{opts.top_pool}` (UNCONFIRMED in the paper); top count = max({opts.top_min_models}, "
        f"ceil({opts.top_fraction} × pool)).\n\n![top5](top5.png)\n\n",
        _table(top, ["label", "n_pool", "n_unscored", "n_top", "median", "min", "max"]),
        "\n## FID vs computational budget\n\n",
        f"The paper's simulation: fixed settings first in random order (seed pick `{opts.seed_pick}`), then "
        f"exploration runs (BO/random, order `{opts.explore_order}`); {opts.budget_reps} repetitions (seed "
        f"{opts.budget_seed}); mean of the minimum {opts.metric} within budget k. Finished runs without FID "
        f"score {opts.unscored_fid}. Table: budget 1 and full budget.\n\n![budget](budget.png)\n\n",
        (_table(best.rename(columns={"first": "k=1", "last": "k=all"}), ["label", "k=1", "k=all"])
         if len(curves) else "_(none)_\n"),
        "\n## Comparison with the published numbers\n\n",
        RULE.format(level=opts.ci_level, n_boot=opts.n_boot, seed=opts.bootstrap_seed, min_seeds=opts.min_seeds)
        + f" Matching: dataset, arch, loss, norm, penalty (λ), lr/β1/β2 within {opts.rel_tol:.1%}, n_dis"
        + (", D steps" if opts.match_d_steps else "") + ".\n\n",
    ]
    if published is None:
        parts.append("_No baselines file given._\n")
    elif verd.empty:
        parts.append(f"This study covers none of the {len(published)} comparable published rows "
                     "(`audits/baselines/published_models.csv`), so there is no verdict.\n")
    else:
        parts += [f"{verd['row_id'].nunique()} of {len(published)} comparable published rows are covered.\n\n",
                  _table(verd, ["row_id", "published_fid", "label", "setting", "n_scored", "n_diverged",
                                "median", "ci_lo", "ci_hi", "verdict"])]
    parts.append("\nCaveat: no published row states whether its FID is a single run or a 5-seed median, nor "
                 "its exact FID sample counts (`audits/baselines/README.md`).\n")
    return "".join(parts)
