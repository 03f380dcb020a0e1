"""PNG figures of an audit (matplotlib, Agg backend; no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd


def top5_boxplot(top: pd.DataFrame, path: str | Path, *, title: str, ylabel: str = "FID (lower is better)") -> Path:
    """Boxplot of each configuration's top-fraction scores (``ganaudit.audit.top5.top_fraction``)."""
    path = Path(path)
    rows = top[top["n_top"] > 0]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 4.0))
    if len(rows):
        ax.boxplot(list(rows["top_scores"]), showfliers=True)
        ax.set_xticks(range(1, len(rows) + 1))
        names = zip(rows["label"], rows["n_top"], rows["n_pool"], strict=True)
        ax.set_xticklabels([f"{lab}\n(n={n}/{p})" for lab, n, p in names], rotation=30, ha="right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no scored runs", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def budget_plot(curves: pd.DataFrame, path: str | Path, *, title: str) -> Path:
    """Mean minimum FID vs budget (number of models trained), one line per configuration, log x."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for label, grp in curves.groupby("label", sort=True):
        ax.plot(grp["budget"], grp["mean_min_fid"], marker="o", markersize=3, label=label)
        n_fixed = int(grp["n_fixed"].iloc[0])
        if 0 < n_fixed < int(grp["budget"].max()):
            ax.axvline(n_fixed + 0.5, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xscale("log")
    # plain integer budgets (1, 2, 5, 10, ...) instead of 10^k labels, also on short axes
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("budget: models trained (fixed settings first, then exploration)")
    ax.set_ylabel("mean of min FID")
    ax.set_title(title, fontsize=10)
    if len(curves):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
