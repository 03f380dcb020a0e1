"""Write a claims audit: ``claims.csv`` (one row per part), ``claims.json``, ``claims.md`` and one PNG per
claim (both sides' values side by side, per group), all under one directory.

    paths = write_claims(runs, load_claims("audits/claims/demo.yaml"), "audits/reports/demo/claims")
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ganaudit.audit.claims import PART_COLUMNS, claim_groups, claim_verdicts, evaluate_claims, select_runs, side_values
from ganaudit.audit.claims_spec import Claim, ClaimsFile, load_claims

__all__ = ["write_claims", "claims_markdown", "write_empty_claims"]

RULE = ("Verdicts (docs/claims.md): `supported` / `contradicted` when the Holm-adjusted p-value (over every "
        "test of the file) is below alpha = {alpha} and the effect is in / against the claimed direction "
        "(an `equivalent` claim: TOST within the margin / evidence beyond it); `inconclusive` otherwise, with "
        "`n_needed` = seeds (or settings) per side that would decide at the observed effect with {power:.0%} "
        "power (normal approximation from the bootstrap SE, at alpha / number of tests); `not covered` when "
        "the study lacks one side. d = statistic(a) - statistic(b); lower FID is better. Bootstrap: {n_boot} "
        "resamples; permutations: all splits up to {n_perm}, else {n_perm} random ones; seed {seed}.")


def _num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e-2 or abs(x) >= 1e4 else f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return str(x)


def _sides(c: Claim) -> str:
    def fmt(sel: dict) -> str:
        return ", ".join(f"{k}={v}" for k, v in sel.items())
    extra = {"quantile": f" q={c.q}", "top_fraction": f" q={c.q}", "frac_above": f" > {c.threshold}",
             "budget": f" k={c.k}"}.get(c.statistic, "")
    scope = f" where {fmt(c.where)}" if c.where else ""
    per = f" per {', '.join(c.group_by)}" if c.group_by else ""
    margin = f" within ±{c.margin}" if c.margin is not None else ""
    return (f"a: {fmt(c.a)} vs b: {fmt(c.b)}{scope}{per}; {c.statistic}{extra} of {c.metric} "
            f"({c.scale}, per {c.unit[:-1]}); claimed: a {c.direction} b{margin}")


def claims_markdown(parts: pd.DataFrame, verdicts: pd.DataFrame, cf: ClaimsFile, *, heading: str = "##",
                    link_dir: str = "") -> str:
    """The markdown section: rule, verdict table, then per claim its statement, choice, parts and plot."""
    lines = [f"{heading} Claims\n", f"Claims file `{cf.path}`: {len(cf.claims)} claims, "
             + ", ".join(f"{int((verdicts['verdict'] == v).sum())} {v}"
                         for v in ("supported", "contradicted", "inconclusive", "not covered")) + ".\n",
             RULE.format(alpha=cf.alpha, power=cf.power, n_boot=cf.n_boot, n_perm=cf.n_perm, seed=cf.seed) + "\n",
             "| claim | source | verdict | parts covered |", "|---|---|---|---|"]
    lines += [f"| {r.claim} | {r.source} | **{r.verdict}** | {r.covered}/{r.parts} |" for r in verdicts.itertuples()]
    cols = ["group", "n_a", "n_b", "stat_a", "stat_b", "d", "ci_lo", "ci_hi", "cliffs_delta", "hl_shift", "p",
            "p_holm", "verdict", "n_needed"]
    for claim, r in zip(cf.claims, verdicts.itertuples(), strict=True):
        lines += [f"\n{heading}# {claim.id}: {r.verdict}\n", f"> {claim.statement}\n",
                  f"Cites: {claim.cites}. Test: {_sides(claim)}.\n"]
        if claim.choice:
            lines.append(f"Choice: {claim.choice}\n")
        sub = parts[parts["claim"] == claim.id]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_num(row[c]) for c in cols) + " |" for _, row in sub.iterrows()]
        lines.append(f"\n![{claim.id}]({link_dir}{claim.id}.png)\n")
    return "\n".join(lines) + "\n"


def claim_plot(runs: pd.DataFrame, claim: Claim, cf: ClaimsFile, path: Path) -> Path:
    """Both sides' values side by side (box + points) for each group of the claim (at most 8 panels)."""
    groups = claim_groups(runs, claim)[:8]
    fig, axes = plt.subplots(1, len(groups), figsize=(max(5.0, 2.6 * len(groups) + 1.4), 3.8), squeeze=False)
    for ax, (name, grp) in zip(axes[0], groups, strict=True):
        sides = [side_values(select_runs(grp, sel), claim, cf.unscored_fid) for sel in (claim.a, claim.b)]
        if claim.statistic == "budget":
            sides = [np.asarray([np.median(s) for s in side]) for side in sides]
        sides = [np.exp(s) if claim.scale == "log" else np.asarray(s, float) for s in sides]
        if all(len(s) for s in sides):
            ax.boxplot(sides, widths=0.5, showfliers=False)
        for x, s in enumerate(sides, start=1):
            ax.plot(np.full(len(s), x) + np.linspace(-0.08, 0.08, len(s)), s, "o", alpha=0.7, markersize=4)
        ax.set_xticks([1, 2])
        ax.set_xticklabels([f"a (n={len(sides[0])})", f"b (n={len(sides[1])})"], fontsize=8)
        ax.set_title(name, fontsize=8)
        if not all(len(x) for x in sides):
            ax.text(0.5, 0.5, "not covered", ha="center", va="center", transform=ax.transAxes, color="grey")
        if claim.statistic == "frac_above":
            ax.axhline(claim.threshold, color="grey", linestyle="--", linewidth=1)
        if claim.scale == "log" and any(len(x) and (x > 0).all() for x in sides):
            ax.set_yscale("log")
    ylabel = {"frac_diverged": "diverged (1) / not (0)"}.get(claim.statistic, f"{claim.metric} (lower is better)")
    axes[0][0].set_ylabel(ylabel + (" per setting" if claim.unit == "settings" else ""))
    sel = [", ".join(f"{k}={v}" for k, v in side.items()) for side in (claim.a, claim.b)]
    fig.suptitle(f"{claim.id}\na: {sel[0]}   vs   b: {sel[1]}   ({claim.statistic}, claimed a {claim.direction} b)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, (np.floating, np.integer)):
        return _json_safe(x.item())
    return x


def write_claims(runs: pd.DataFrame, cf: ClaimsFile, out_dir: str | Path) -> dict:
    """Evaluate ``cf`` over ``runs`` and write claims.csv/.json/.md and <id>.png into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = evaluate_claims(runs, cf)
    verdicts = claim_verdicts(parts, cf)
    paths = {"csv": out / "claims.csv", "json": out / "claims.json", "md": out / "claims.md"}
    parts.merge(verdicts[["claim", "verdict"]].rename(columns={"verdict": "claim_verdict"}), on="claim") \
        .to_csv(paths["csv"], index=False)
    doc = {"file": str(cf.path), "alpha": cf.alpha, "power": cf.power, "n_boot": cf.n_boot, "n_perm": cf.n_perm,
           "seed": cf.seed, "unscored_fid": cf.unscored_fid,
           "claims": [{**{k: _json_safe(v) for k, v in vr.items()},
                       "parts": [{k: _json_safe(v) for k, v in p.items()}
                                 for p in parts[parts["claim"] == vr["claim"]].to_dict("records")]}
                      for vr in verdicts.to_dict("records")]}
    paths["json"].write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    paths["md"].write_text(claims_markdown(parts, verdicts, cf, heading="#"))
    for claim in cf.claims:
        paths[f"png:{claim.id}"] = claim_plot(runs, claim, cf, out / f"{claim.id}.png")
    return {"paths": paths, "parts": parts, "verdicts": verdicts}


def write_empty_claims(out_dir: str | Path, reason: str) -> None:
    """The same files for a study without a claims file: empty tables that say why."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns=PART_COLUMNS + ["claim_verdict"]).to_csv(out / "claims.csv", index=False)
    (out / "claims.json").write_text(json.dumps({"file": None, "reason": reason, "claims": []}, indent=1) + "\n")
    (out / "claims.md").write_text(f"# Claims\n\n{reason}\n")


VERDICTS = ("supported", "contradicted", "inconclusive", "not covered")


def claims_section(runs: pd.DataFrame, study: str, claims_option: str, out_dir: str | Path) -> tuple[str, dict]:
    """The audit report's "Claims" section and its verdict counts (for metrics.json), its files written to
    ``out_dir`` (always: empty tables when the study has no claims file). ``claims_option``: a claims
    YAML, '' for ``audits/claims/<study>.yaml`` when it exists, or 'none'."""
    path = Path(claims_option) if claims_option not in ("", "none") else Path("audits/claims") / f"{study}.yaml"
    if claims_option == "none" or (not claims_option and not path.is_file()):
        reason = f"No claims file for study `{study}` (expected `{path}`; docs/claims.md)."
        write_empty_claims(out_dir, reason)
        return f"\n## Claims\n\n{reason}\n", {}
    cf = load_claims(path)
    result = write_claims(runs, cf, out_dir)
    link = Path(out_dir).name + "/"
    counts = {v: int((result["verdicts"]["verdict"] == v).sum()) for v in VERDICTS}
    return ("\n" + claims_markdown(result["parts"], result["verdicts"], cf, link_dir=link)
            + f"\nEvery number of this section: `{link}claims.csv` (one row per claim part) and "
            f"`{link}claims.json`.\n"), counts
