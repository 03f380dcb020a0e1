"""Inputs and outputs of ``audit explain``: reading INPUTS into sources, writing markdown/CSV/JSON/PNG.

An INPUT is a run directory (its checkpoint at ``fid_min_step``, the one the study reports, and
``last.ckpt`` for ``select=final``; :func:`_run_dir_source` says what happens when the minimum was not
kept), a generator file (``ganaudit.metrics.checkpoints.load_generator``)
or a sample file/folder (``.npz``, ``.npy``, PNGs; needs ``--dataset``).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import torch

import ganaudit.data
from ganaudit.audit.explain import AXES, Setup, Source
from ganaudit.metrics.checkpoints import load_generator
from ganaudit.metrics.evaluate import CHECKPOINT_SUFFIXES
from ganaudit.metrics.features import EXTRACTORS
from ganaudit.metrics.protocols import protocol_for
from ganaudit.utils.errors import ConfigError, DataError, GanauditError
from ganaudit.utils.io import atomic_write_text

SAMPLE_SUFFIXES = (".npz", ".npy")


def _evaluated_fids(path: Path) -> dict[int, float]:
    """{D step: FID} of the run's evaluations (``evals_index.jsonl``; empty when absent)."""
    out = {}
    index = path / "evals_index.jsonl"
    for line in index.read_text().splitlines() if index.is_file() else ():
        rec = json.loads(line) if line.strip() else {}
        if rec.get("step") is not None and rec.get("fid") is not None:
            out[int(rec["step"])] = float(rec["fid"])
    return out


def _kept_checkpoints(path: Path, last_step: int | None) -> dict[int, Path]:
    """{D step: file} of the checkpoints kept in ``path/checkpoints`` (``last.ckpt`` at ``last_step``)."""
    kept = {int(p.stem.split("-")[1]): p for p in sorted((path / "checkpoints").glob("dstep-*.ckpt"))}
    last = path / "checkpoints" / "last.ckpt"
    if last.is_file() and last_step is not None:
        kept[int(last_step)] = last  # the same weights as dstep-<last_step> when both exist
    return kept


def _run_dir_source(path: Path, config, trust_pickle: bool = False) -> tuple[Source, dict]:
    """A run directory: 'best' = its minimum-FID checkpoint (result.json's ``fid_min_step``, the study's
    number), 'final' = its last one. When the two cannot be told apart (one checkpoint, the minimum is the
    last, or the minimum-FID checkpoint was not kept) ``select_na`` says why; without the minimum's
    checkpoint, 'best' is the minimum over the evaluated checkpoints that were kept."""
    res = json.loads((path / "result.json").read_text())
    last = path / "checkpoints" / "last.ckpt"
    if not last.is_file():  # the final checkpoint: last.ckpt, else the latest dstep-*.ckpt
        last = max((path / "checkpoints").glob("dstep-*.ckpt"), default=None)
    if last is None:
        raise DataError(f"run directory '{path}' has no checkpoints/last.ckpt; expected a finished run")
    final, info = load_generator(last, config, trust_pickle=trust_pickle)
    f_step = info.get("step")
    kept = _kept_checkpoints(path, f_step)
    fids = _evaluated_fids(path)
    want = res.get("fid_min_step")
    evaluated = {s: fids[s] for s in kept if s in fids}
    if want is not None and int(want) in kept:
        b_step, note = int(want), None
    elif evaluated:
        b_step = min(evaluated, key=evaluated.get)
        note = (f"the minimum-FID checkpoint (step {want}) was not kept; best of the kept evaluated checkpoints "
                f"(steps {', '.join(map(str, sorted(evaluated)))}) is step {b_step}") if want is not None else None
    else:
        b_step, note = f_step, "no evaluated checkpoint was kept: best and final cannot be told apart"
    gens, steps = {"best": final}, {"best": f_step}
    if len(kept) < 2:
        note = note or f"one checkpoint (step {f_step}): best and final cannot be told apart"
    elif b_step == f_step:
        note = note or f"the minimum-FID checkpoint is the final one (step {f_step})"
    if b_step != f_step:
        best, binfo = load_generator(kept[b_step], config, trust_pickle=trust_pickle)
        gens, steps = {"best": best}, {"best": binfo.get("step", b_step)}
        info = binfo
    if note is None:
        gens["final"], steps["final"] = final, f_step
    return Source(str(path), "generator", gens, int(info.get("z_dim") or 128), steps=steps, select_na=note), info


def load_source(path: Path, config=None, value_range=None, *, trust_pickle: bool = False) -> tuple[Source, dict]:
    """(Source, run info with 'dataset' when known) of one INPUT. ``trust_pickle``: allow generator files
    that load only by full unpickling (``ganaudit.metrics.checkpoints.load_generator``)."""
    if not path.exists():
        raise ConfigError(f"input '{path}': no such file or directory; expected a run directory, generator file "
                          "or sample file/folder")
    if path.is_dir() and (path / "result.json").is_file():
        return _run_dir_source(path, config, trust_pickle)
    if path.suffix in CHECKPOINT_SUFFIXES:
        gen, info = load_generator(path, config, trust_pickle=trust_pickle)
        return Source(str(path), "generator", {"best": gen}, int(info.get("z_dim") or 128),
                      steps={"best": info.get("step")}), info
    if path.is_dir() or path.suffix in SAMPLE_SUFFIXES:
        return Source(str(path), "samples", samples=path, value_range=value_range), {}
    raise ConfigError(f"input '{path}': unknown kind '{path.suffix}'; expected a run directory, a generator "
                      f"file ({', '.join(CHECKPOINT_SUFFIXES)}) or samples (.npz, .npy, PNG folder)")


def make_setup(dataset: str, protocol: str, root, artifacts, device: str = "cpu", **options):
    """(Setup, split sizes) for ``dataset`` under ``protocol``: the extractor from ``artifacts/weights``,
    splits from ``root/data/prepared/<dataset>``; ``options`` are :class:`Setup` fields."""
    proto = protocol_for(dataset, protocol)
    data_dir = Path(root) / "data" / "prepared" / dataset
    views: dict = {}

    def view(split):
        if split not in views:
            views[split] = ganaudit.data.open_split(dataset, split, data_dir)
        return views[split]

    extractor = EXTRACTORS.get(proto.extractor)(Path(artifacts) / "weights").to(device)
    setup = Setup(proto=proto, dataset=dataset, extractor=extractor, open_split=view, device=torch.device(device),
                  **options)
    split_sizes = {}
    for split in ("test", "train"):
        try:
            split_sizes[split] = len(view(split))
        except GanauditError:
            split_sizes[split] = 0
    return setup, split_sizes


def render(result: dict, top: int = 15) -> str:
    """The text report: claim, plain protocol, ranked variants (top ``top``), verdict line."""
    plain = result["plain"]
    lines = [f"claimed FID {result['claim_fid']:g} on {result['dataset']} (protocol {result['protocol']})",
             f"protocol as is: FID {plain['fid']:.4f}, CI [{plain['ci'][0]:.4f}, {plain['ci'][1]:.4f}]",
             f"  {plain['provenance']}", "", f"{'rank':>4}  {'changes':<38} {'FID':>10}  {'CI':<23} explains"]
    for i, r in enumerate(result["variants"][:top], 1):
        lines.append(f"{i:>4}  {r['label']:<38} {r['fid']:>10.4f}  [{r['ci'][0]:.4f}, {r['ci'][1]:.4f}]"
                     f"{'  yes' if r['explains'] else '  no'}")
    if len(result["variants"]) > top:
        lines.append(f"      ... {len(result['variants']) - top} more in the CSV/JSON (--out)")
    lines.append("")
    best = result["variants"][0]
    if result["explained"]:
        lines.append(f"best explanation: {best['label']} (FID {best['fid']:.4f}, CI [{best['ci'][0]:.4f}, "
                     f"{best['ci'][1]:.4f}] holds {result['claim_fid']:g})")
    else:
        lines.append(f"no variant explains {result['claim_fid']:g}: no CI holds it (closest: {best['label']}, "
                     f"FID {best['fid']:.4f})")
    for line in result.get("selection", []):
        lines.append(f"select=final compares {line}")
    for r in result["variants"]:
        if r["changes"].get("n", "inf") != "inf" and r["n_changes"] == 1:
            kind = "extrapolated" if r["extrapolated"] else "interpolated"
            lines.append(f"n={r['changes']['n']}: the FID expected at {r['changes']['n']} fakes, {kind} from each "
                         f"stream's 1/N fit over {r['n_fake']} fakes: FID {r['fid']:.4f}, CI [{r['ci'][0]:.4f}, "
                         f"{r['ci'][1]:.4f}]")
    lines.append(f"CI: {result['ci_meaning']}; ranking: variants whose CI holds the claim, fewest changes first, "
                 "then by distance to the claim")
    for n in result["not_applicable"]:
        lines.append(f"not applicable: {', '.join(f'{k}={v}' for k, v in n['changes'].items())}: {n['reason']}")
    return "\n".join(lines)


def as_json(result: dict) -> dict:
    """JSON-ready: per variant changes, fid, ci, explains, provenance (ranked), plus the plain result."""
    keep = ("changes", "label", "n_changes", "fid", "ci", "ci_mean", "var_sampling", "var_seed", "explains",
            "distance", "values", "n_fake", "n_real", "real_split", "extrapolated", "provenance")

    def clean(r):
        return {k: (None if isinstance(r.get(k), float) and not math.isfinite(r[k]) else r.get(k)) for k in keep}

    return {**{k: result[k] for k in ("claim_fid", "protocol", "dataset", "explained", "streams", "level",
                                      "ci_meaning", "not_applicable")}, "selection": result.get("selection", []),
            "plain": clean(result["plain"]), "variants": [clean(r) for r in result["variants"]]}


def write_outputs(result: dict, out: Path) -> dict[str, Path]:
    """explain.md, explain.csv, explain.json and explain.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"explain.{k}" for k in ("md", "csv", "json", "png")}
    atomic_write_text(paths["json"], json.dumps(as_json(result), indent=1, default=str) + "\n")
    rows = as_json(result)["variants"]
    with open(paths["csv"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", "changes", *AXES, "fid", "ci_lo", "ci_hi", "explains", "provenance"])
        for i, r in enumerate(rows, 1):
            w.writerow([i, r["label"], *[r["changes"].get(a, "") for a in AXES], r["fid"], r["ci"][0], r["ci"][1],
                        r["explains"], r["provenance"]])
    md = ["# Why does this FID differ?", "", "```", render(result, top=len(rows)), "```", "",
          "![variants](explain.png)", ""]
    atomic_write_text(paths["md"], "\n".join(md))
    _plot(result, paths["png"])
    return paths


def _plot(result: dict, path: Path, top: int = 30) -> None:
    # deferred: matplotlib (about 0.5 s) is needed only when outputs are written (--out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["variants"][:top]
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.5))
    y = list(range(len(rows)))[::-1]
    for yi, r in zip(y, rows, strict=True):
        color = "tab:green" if r["explains"] else "tab:gray"
        ax.errorbar(r["fid"], yi, xerr=[[r["fid"] - r["ci"][0]], [r["ci"][1] - r["fid"]]], fmt="o", color=color,
                    ms=4, capsize=2)
    ax.axvline(result["claim_fid"], color="tab:red", ls="--", label=f"claim {result['claim_fid']:g}")
    ax.set_yticks(y)
    ax.set_yticklabels([r["label"] for r in rows], fontsize=7)
    ax.set_xlabel(f"FID ({result['protocol']}, {result['dataset']}); bars: CI; green: explains the claim")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
