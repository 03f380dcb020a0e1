"""Compare our seeds with the published numbers (``audits/baselines/published_models.csv``).

A published row is *covered* by a study when one of its (configuration, setting) groups has the same
dataset, architecture, loss, D normalization, penalty (and λ when there is a penalty), lr, β1, β2,
n_dis (floats within ``rel_tol``) and, unless ``match_d_steps`` is off, the same number of D steps.

Verdict rule (stated verbatim in every report, :data:`RULE`), with CI = the bootstrap ``level`` CI of
the median of our scored seeds (``ganaudit.audit.stats``) and FID lower = better:
  * ``too few seeds``: fewer than ``min_seeds`` seeds with a finite score;
  * ``reproduced``: ci_lo <= published <= ci_hi;
  * ``better``: ci_hi < published (our median is credibly lower);
  * ``worse``: published < ci_lo.
  * ``inconclusive`` (only where a ``tolerance`` is given, as ``audit verdict`` does): published inside
    a CI whose half-width exceeds ``tolerance`` x published (:data:`INCONCLUSIVE_RULE`).
Caveat carried into the report: no published row says whether its FID is one run or a 5-seed median.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ganaudit.utils.errors import DataError

VERDICTS = ("reproduced", "better", "worse", "too few seeds", "inconclusive")

RULE = ("Verdict per published row: CI = percentile-bootstrap {level:.0%} CI of the median FID over our "
        "seeds with a finite score (n_boot={n_boot}, bootstrap seed {seed}); fewer than {min_seeds} "
        "scored seeds -> 'too few seeds'; published inside [ci_lo, ci_hi] -> 'reproduced'; published "
        "above ci_hi -> 'better' (ours lower); published below ci_lo -> 'worse'. Diverged seeds without "
        "FID are counted (n_diverged) but have no score.")

INCONCLUSIVE_RULE = ("Inconclusive: a claim inside [ci_lo, ci_hi] whose CI half-width (ci_hi - ci_lo) / 2 exceeds "
                     "{tolerance:.0%} of the claimed FID is 'inconclusive' (too wide to call it reproduced); a claim "
                     "outside the CI keeps 'better' / 'worse'.")

#: published_models.csv spellings -> ganaudit option names
DATASETS = {"celebahq128": "celeba_hq_128", "lsun_bedroom": "lsun_bedroom", "cifar10": "cifar10"}
ARCHS = {"SNDCGAN": "sndcgan", "ResNet19": "resnet19", "ResNet CIFAR": "resnet_cifar"}
LOSSES = {"NS": "ns", "LS": "ls", "WGAN": "wgan"}
PENALTIES = {"none": "none", "WGAN-GP": "wgan_gp", "DRAGAN": "dragan", "L2": "l2"}
NORMS = {"none": "none", "spectral_norm": "spectral", "layer_norm": "layer", "batch_norm": "batch"}

PUBLISHED_COLUMNS = ["row_id", "dataset", "arch", "loss", "penalty", "lambda", "norm", "lr", "beta1",
                     "beta2", "n_dis", "d_steps", "fid", "source"]


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def load_published(path: str | Path) -> pd.DataFrame:
    """Rows of the study (Kurach et al.) whose every axis maps to a ganaudit option and whose FID is a
    number; columns :data:`PUBLISHED_COLUMNS`. Other rows (Lucic et al., ambiguous values) are dropped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"published baselines file {path} not found; expected audits/baselines/"
                        "published_models.csv (a copy of shared/baselines)")
    raw = pd.read_csv(path, dtype=str)
    need = {"row_id", "dataset", "architecture", "loss", "penalty", "normalization", "learning_rate",
            "beta1", "beta2", "n_disc", "training_steps", "fid"}
    missing = need - set(raw.columns)
    if missing:
        raise DataError(f"{path} lacks columns {sorted(missing)}")
    rows = []
    for _, r in raw.iterrows():
        mapped = (DATASETS.get(r["dataset"]), ARCHS.get(r["architecture"]), LOSSES.get(r["loss"]),
                  PENALTIES.get(r["penalty"]), NORMS.get(r["normalization"]))
        fid, lr = _num(r["fid"]), _num(r["learning_rate"])
        if None in mapped or not math.isfinite(fid) or not math.isfinite(lr):
            continue
        rows.append({"row_id": r["row_id"], "dataset": mapped[0], "arch": mapped[1], "loss": mapped[2],
                     "penalty": mapped[3], "lambda": _num(r.get("penalty_lambda")), "norm": mapped[4],
                     "lr": lr, "beta1": _num(r["beta1"]), "beta2": _num(r["beta2"]),
                     "n_dis": _num(r["n_disc"]), "d_steps": _num(r["training_steps"]), "fid": fid,
                     "source": r.get("source")})
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def _close(a: float, b: float, rel_tol: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)


def matches(pub: pd.Series, run: pd.Series, *, rel_tol: float = 5e-3, match_d_steps: bool = True) -> bool:
    """Whether one of our runs has the published row's configuration and hyperparameters."""
    if any(str(run.get(k)) != str(pub[k]) for k in ("dataset", "arch", "loss", "norm", "penalty")):
        return False
    if not all(_close(float(pub[k]), _num(run.get(k)), rel_tol) for k in ("lr", "beta1", "beta2")):
        return False
    if _num(run.get("n_dis")) != float(pub["n_dis"]):
        return False
    if pub["penalty"] != "none" and not _close(float(pub["lambda"]), _num(run.get("lambda")), rel_tol):
        return False
    return not match_d_steps or _num(run.get("d_steps")) == float(pub["d_steps"])


def decide(published: float, scores, *, min_seeds: int = 3, ci: tuple[float, float],
           tolerance: float | None = None) -> str:
    """The verdict for one published FID against our finite seed ``scores`` with bootstrap ``ci``;
    ``tolerance`` (relative): 'inconclusive' instead of 'reproduced' when the CI's half-width exceeds
    tolerance x published."""
    if len(scores) < min_seeds:
        return "too few seeds"
    lo, hi = ci
    if lo <= published <= hi:
        return "inconclusive" if tolerance is not None and (hi - lo) / 2 > tolerance * abs(published) else "reproduced"
    return "better" if hi < published else "worse"


def verdicts(runs: pd.DataFrame, published: pd.DataFrame, variance: pd.DataFrame, *, min_seeds: int = 3,
             rel_tol: float = 5e-3, match_d_steps: bool = True) -> pd.DataFrame:
    """One row per covered published row: ids, published FID, our group's stats and the verdict.

    ``variance`` is :func:`ganaudit.audit.stats.seed_variance` of ``runs`` (it holds the CIs).
    """
    out = []
    for _, pub in published.iterrows():
        hit = runs[[matches(pub, r, rel_tol=rel_tol, match_d_steps=match_d_steps) for _, r in runs.iterrows()]]
        if hit.empty:
            continue
        for (label, setting), grp in hit.groupby(["label", "setting"], sort=True):
            stats = variance[(variance["label"] == label) & (variance["setting"] == setting)].iloc[0]
            scores = [s for s in pd.to_numeric(grp["score"], errors="coerce") if np.isfinite(s)]
            out.append({"row_id": pub["row_id"], "published_fid": float(pub["fid"]), "label": label,
                        "setting": setting, "n_runs": int(stats["n_runs"]), "n_scored": int(stats["n_scored"]),
                        "n_diverged": int(stats["n_diverged"]), "median": stats["median"],
                        "ci_lo": stats["ci_lo"], "ci_hi": stats["ci_hi"],
                        "verdict": decide(float(pub["fid"]), scores, min_seeds=min_seeds,
                                          ci=(stats["ci_lo"], stats["ci_hi"])),
                        "source": pub["source"]})
    return pd.DataFrame(out, columns=["row_id", "published_fid", "label", "setting", "n_runs", "n_scored",
                                      "n_diverged", "median", "ci_lo", "ci_hi", "verdict", "source"])
