"""Check one reported FID against our seeds (the command line ``ganaudit audit verdict`` is ganaudit.cli.verdict).

    ganaudit audit verdict --row hub13 runs/*/checkpoints/last.ckpt          # a published row
    ganaudit audit verdict --claim-fid 23.4 --dataset cifar10 s0.npz s1.npz s2.npz
    ganaudit audit verdict --claim-fid 120 runs/a-s0 runs/a-s1 runs/a-s2     # run dirs: their fid_min

Each INPUT is one seed: a generator file (a run's ``checkpoints/*.ckpt``, a state_dict with
``--config``, TorchScript), a sample file/folder (``.npz``, ``.npy``, PNGs), both evaluated by
``ganaudit.metrics.evaluate`` under the protocol; or a run directory, whose ``result.json`` gives the score the
study audit uses (``fid_min``: minimum FID over its evaluated checkpoints; a diverged run without FID
is counted, not scored). The verdict is :func:`ganaudit.audit.verdict.decide` on the bootstrap CI of the
median of the scores, with the rule (:data:`ganaudit.audit.verdict.RULE`) printed beside it.

Two levels of randomness: each generator input (a checkpoint, or a run directory's minimum-FID
checkpoint) is also scored on ``--streams`` K latent streams (stream 0 = the protocol's), each sample
file gets a bootstrap over its fakes; with the seeds' spread these give the sampling and training-seed
variance components (:func:`ganaudit.audit.stats.variance_components`), and the verdict is then decided
on their combined CI. A CI whose half-width exceeds ``--tolerance`` x the claim is ``inconclusive``.

With ``--row``, every input whose configuration is known must have the row's dataset, architecture,
loss, normalization, penalty (and λ), lr, β1, β2, n_dis and (unless ``--any-d-steps``) D steps; inputs
from two configurations, or two inputs of the same run, are refused. Exit 0 with any verdict, 2 on
bad options or inputs (ConfigError), 1 when reading or evaluating an input fails (data, weights).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
from pathlib import Path

import pandas as pd

from ganaudit.audit.explain import plain_scores
from ganaudit.audit.explain_io import load_source, make_setup
from ganaudit.audit.stats import describe, variance_components
from ganaudit.audit.verdict import INCONCLUSIVE_RULE, RULE, decide, load_published, matches
from ganaudit.metrics.checkpoints import load_generator
from ganaudit.metrics.evaluate import CHECKPOINT_SUFFIXES, evaluate_samples
from ganaudit.utils.determinism import MODE_ENV, enforce
from ganaudit.utils.errors import ConfigError, DataError
from ganaudit.utils.hashing import sha256_file

__all__ = ["Claim", "claimed_fid", "check_distinct", "published_claim", "seed_score", "check_claim", "render"]

FIELDS = ("dataset", "arch", "loss", "norm", "penalty", "lambda", "lr", "beta1", "beta2", "n_dis", "d_steps")


class Claim(dict):
    """``{"fid", "dataset", "row_id", "row"}``: the number to check and where it comes from."""


def claimed_fid(value: float, option: str = "--claim-fid") -> float:
    """``value`` if it is a possible FID (finite, >= 0), else a ConfigError naming ``option``. A claim of 0
    is allowed: the statistics then decide (only seeds whose CI reaches 0 reproduce it)."""
    if value is None or not math.isfinite(float(value)) or float(value) < 0.0:
        raise ConfigError(f"option '{option}' = {value}: expected a finite FID >= 0 (a Frechet distance is "
                          "never negative, NaN or infinite)")
    return float(value)


def _weights_digest(state: dict) -> str:
    """sha256 over a generator's parameter and buffer names and bytes (CPU, float as stored)."""
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode() + b"\0" + state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _folder_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        h.update(f.name.encode() + b"\0" + sha256_file(f).encode())
    return h.hexdigest()


def input_identities(path: Path, config=None, trust_pickle: bool = False) -> list[tuple[str, str]]:
    """What makes ``path`` one seed: ``[(kind, value), ...]``; two inputs sharing any pair are one seed.

    A run directory: its resolved path and (config hash, seed); a file: its sha256; a generator file
    also the digest of its generator's weights and, when it says, its (config hash, seed); a sample
    folder: the digest of its files."""
    if path.is_dir() and (path / "result.json").is_file():
        res = json.loads((path / "result.json").read_text())
        out = [("run directory", str(path.resolve()))]
        if res.get("config_hash") is not None:
            out.append(("run", f"config {res.get('config_hash')} seed {res.get('seed')}"))
        return out
    if path.is_dir():
        return [("folder contents", _folder_digest(path))]
    out = [("file contents", sha256_file(path))]
    if path.suffix in CHECKPOINT_SUFFIXES:
        gen, info = load_generator(path, config, trust_pickle=trust_pickle)
        out.append(("generator weights", _weights_digest(gen.state_dict())))
        if info.get("config_hash") is not None:
            out.append(("run", f"config {info['config_hash']} seed {info.get('seed')}"))
    return out


def check_distinct(paths: list[Path], config=None, trust_pickle: bool = False) -> None:
    """ConfigError naming the first two INPUTs that are the same seed (the same file contents, run
    directory, run, or generator weights): each seed must be passed once. Checked before any evaluation."""
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        idents = input_identities(Path(path), config, trust_pickle)
        for ident in idents:
            if ident in seen:
                raise ConfigError(f"inputs '{seen[ident]}' and '{path}' are the same seed (same {ident[0]}); "
                                  "expected each seed once: pass every input a single time")
        seen.update({ident: Path(path) for ident in idents})


def published_claim(row_id: str, baselines: Path) -> Claim:
    """The claim of published row ``row_id`` (ConfigError listing the rows ganaudit can express)."""
    table = load_published(baselines)
    hit = table[table["row_id"] == row_id]
    if hit.empty:
        raise ConfigError(f"option '--row' = '{row_id}': not a row of {baselines} that ganaudit can express; "
                          f"expected one of {', '.join(table['row_id'])}")
    row = hit.iloc[0]
    return Claim(fid=float(row["fid"]), dataset=str(row["dataset"]), row_id=row_id, row=row)


def config_fields(config: dict) -> dict:
    """The published-row fields of a run's resolved config (as in ``verdict.matches``)."""
    c = config
    return {"dataset": c["dataset"]["name"], "arch": c["arch"]["name"], "loss": c["loss"]["name"],
            "norm": c["norm"]["name"], "penalty": c["penalty"]["name"], "lambda": c["penalty"].get("weight"),
            "lr": c["optim"]["lr"], "beta1": c["optim"]["beta1"], "beta2": c["optim"]["beta2"],
            "n_dis": c["optim"]["n_dis"], "d_steps": c["trainer"]["d_steps"]}


def _differs(key: str, ours, theirs, rel_tol: float = 5e-3) -> bool:
    if key in ("dataset", "arch", "loss", "norm", "penalty"):
        return str(ours) != str(theirs)
    try:
        return not math.isclose(float(ours), float(theirs), rel_tol=rel_tol)
    except (TypeError, ValueError):
        return True


def _show(value) -> str:
    """``'digits'`` for names, ``0.0002`` for numbers (numpy scalars as plain python)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def check_row(claim: Claim, config: dict | None, source: str, match_d_steps: bool) -> None:
    """ConfigError naming the fields where ``config`` differs from the published row."""
    if config is None or claim.get("row") is None:
        return
    row, ours = claim["row"], config_fields(config)
    if matches(row, pd.Series(ours), match_d_steps=match_d_steps):
        return
    diff = [f"{k}: ours {_show(ours[k])}, row {_show(row[k])}" for k in FIELDS
            if (k != "lambda" or row["penalty"] != "none") and (k != "d_steps" or match_d_steps)
            and _differs(k, ours[k], row[k])]
    hint = " (or pass --any-d-steps)" if any(d.startswith("d_steps") for d in diff) else ""
    raise ConfigError(f"input '{source}' is not the configuration of row {claim['row_id']} "
                      f"({'; '.join(diff) or 'hyperparameters differ'}); expected a run of "
                      f"experiment=kurach2019/{claim['row_id']}{hint}")


def _run_dir_score(path: Path) -> dict:
    """One seed from a run directory's ``result.json``: its fid_min (None when it has none)."""
    result_path = path / "result.json"
    if not result_path.is_file():
        raise DataError(f"run directory '{path}' has no result.json; expected a finished run "
                        "(runs/<config_hash>-s<seed>/) or pass its checkpoints/last.ckpt")
    res = json.loads(result_path.read_text())
    score = res.get("fid_min")
    return {"input": str(path), "seed": res.get("seed"), "config_hash": res.get("config_hash"),
            "status": res.get("status"), "step": res.get("fid_min_step"),
            "dataset": ((res.get("config") or {}).get("dataset") or {}).get("name"),
            "score": float(score) if score is not None and res.get("status") not in ("failed", "interrupted") else None,
            "config": res.get("config")}


def _trusts(opts: argparse.Namespace) -> bool:
    """``--trust-pickle``: generator files that load only by full unpickling are allowed."""
    return bool(getattr(opts, "trust_pickle", False))


def seed_score(path: Path, claim: Claim, opts: argparse.Namespace) -> dict:
    """``{"input", "seed", "config_hash", "status", "step", "score", "config"}`` of one input."""
    if path.is_dir() and (path / "result.json").is_file():
        return _run_dir_score(path)
    enforce(os.environ.get(MODE_ENV) or "portable")  # the kernels the runs were trained with (ganaudit.cli.main)
    config = None
    if path.suffix in CHECKPOINT_SUFFIXES:
        config = load_generator(path, opts.config, trust_pickle=_trusts(opts))[1].get("config")
        check_row(claim, config, str(path), opts.match_d_steps)
    record = evaluate_samples(path, dataset=claim.get("dataset"), protocol=opts.protocol, data_dir=opts.data_dir,
                              data_root=Path(opts.root) / "data" / "prepared", artifacts_dir=Path(opts.artifacts),
                              record_path=Path(opts.record), device=opts.device, config=opts.config,
                              trust_pickle=_trusts(opts))
    prov = record.get("provenance", {})
    fid = record.get("fid")
    return {"input": str(path), "seed": prov.get("seed"), "config_hash": prov.get("config_hash"),
            "status": "nan samples" if record.get("nan_samples") else "evaluated", "step": prov.get("step"),
            "dataset": prov.get("dataset"),
            "score": float(fid) if fid is not None and math.isfinite(fid) else None, "config": config}


def _check_inputs(seeds: list[dict]) -> None:
    """Refuse two inputs of the same run, or inputs of different configurations."""
    runs = [(s["config_hash"], s["seed"]) for s in seeds if s["config_hash"] is not None]
    dup = {r for r in runs if runs.count(r) > 1}
    if dup:
        raise ConfigError(f"inputs hold the same run twice ({sorted(dup)[0][0]}, seed {sorted(dup)[0][1]}); "
                          "expected one input per seed")
    datasets = {str(s["dataset"]) for s in seeds if s.get("dataset")}
    if len(datasets) > 1:
        raise ConfigError(f"inputs are on {len(datasets)} datasets ({', '.join(sorted(datasets))}); "
                          "expected the seeds of one configuration")
    hashes = {h for h, _ in runs}
    if len(hashes) > 1:
        raise ConfigError(f"inputs come from {len(hashes)} configurations ({', '.join(sorted(hashes))}); "
                          "expected the seeds of one configuration")


SAMPLING_RULE = ("Two levels: the verdict's CI is the {level:.0%} CI of the mean FID over inputs from "
                 "variance components (sampling: K={streams} latent streams per generator, stream 0 the "
                 "protocol's, or a bootstrap over the fakes for sample files; training seeds: the inputs' "
                 "spread); the seed-only bootstrap CI of the median is kept as ci_lo_seeds / ci_hi_seeds.")


def validate_inputs(claim: Claim, seeds: list[dict], opts: argparse.Namespace) -> None:
    """ConfigError when an input does not match the claimed row or two inputs are one seed; before any
    evaluation, so a refused command computes nothing."""
    for s in seeds:
        if s.get("config") is not None and claim.get("row") is not None:
            check_row(claim, s["config"], s["input"], opts.match_d_steps)
    _check_inputs(seeds)


def sampling_part(seeds: list[dict], claim: Claim, opts: argparse.Namespace) -> list[dict | None]:
    """Per input: ``{"values": FIDs per latent stream | [FID], "boot_var": None | variance, "method"}``,
    or None where no sampling is possible (a run directory without checkpoints, ``--streams 0``). The
    inputs are validated first (:func:`validate_inputs`)."""
    validate_inputs(claim, seeds, opts)
    if not opts.streams:
        return [None] * len(seeds)
    out: list[dict | None] = []
    setups: dict = {}
    for s in seeds:
        path = Path(s["input"])
        runnable = not path.is_dir() or (path / "checkpoints" / "last.ckpt").is_file() or \
            not (path / "result.json").is_file()
        dataset = claim.get("dataset") or s.get("dataset")
        if s["score"] is None or not runnable or not dataset:
            out.append(None)
            continue
        source, _ = load_source(path, opts.config, trust_pickle=_trusts(opts))
        if str(dataset) not in setups:
            setups[str(dataset)] = make_setup(str(dataset), opts.protocol, opts.root, opts.artifacts, opts.device,
                                              streams=opts.streams, n_boot=opts.sampling_boot, level=opts.level)
        setup, sizes = setups[str(dataset)]
        row = plain_scores(setup, [source], sizes)
        boot = source.kind == "samples"
        out.append({"values": row["values"][0], "var_sampling": row["var_sampling"],
                    "method": f"bootstrap over fakes ({opts.sampling_boot} resamples)" if boot
                    else f"{opts.streams} latent streams"})
    return out


def _combined(scores_by_input: list, sampling: list, level: float) -> dict | None:
    """Variance components over inputs with sampling; None when no input has it. Each input's streams are
    anchored at its score (``score + v_k - v_0``): a run directory's score is its fid_min, which may come
    from another checkpoint than the one whose streams were drawn (when that checkpoint was not kept)."""
    if not any(sampling):
        return None
    values = [[score + v - smp["values"][0] for v in smp["values"]] if smp else [score]
              for score, smp in zip(scores_by_input, sampling, strict=True)]
    boot = [smp["var_sampling"] if smp and len(smp["values"]) == 1 else None for smp in sampling]
    return variance_components(values, boot, level=level)


def check_claim(claim: Claim, seeds: list[dict], opts: argparse.Namespace, sampling: list | None = None) -> dict:
    """The verdict dict: claim, per-seed scores, median and CI, the sampling and seed components when
    ``sampling`` (:func:`sampling_part`) has any, verdict and the rule in words."""
    validate_inputs(claim, seeds, opts)
    scores = [s["score"] for s in seeds if s["score"] is not None]
    stats = describe(scores, level=opts.level, n_boot=opts.n_boot, seed=opts.bootstrap_seed)
    tolerance = getattr(opts, "tolerance", None)
    scored = [(s["score"], smp) for s, smp in zip(seeds, sampling or [None] * len(seeds), strict=True)
              if s["score"] is not None]
    comb = _combined([a for a, _ in scored], [b for _, b in scored], opts.level) if scored else None
    ci = (comb["ci"][0], comb["ci"][1]) if comb else (stats["ci_lo"], stats["ci_hi"])
    verdict = decide(claim["fid"], scores, min_seeds=opts.min_seeds, ci=ci, tolerance=tolerance)
    rule = RULE.format(level=opts.level, n_boot=opts.n_boot, seed=opts.bootstrap_seed, min_seeds=opts.min_seeds)
    if comb:
        rule += " " + SAMPLING_RULE.format(level=opts.level, streams=opts.streams)
    if tolerance is not None:
        rule += " " + INCONCLUSIVE_RULE.format(tolerance=tolerance)
    datasets = sorted({str(s["dataset"]) for s in seeds if s.get("dataset")})
    out = {"claim_fid": claim["fid"], "row_id": claim.get("row_id"),
           "dataset": claim.get("dataset") or ", ".join(datasets) or None,
           "seeds": [{k: v for k, v in s.items() if k != "config"} for s in seeds],
           "n_inputs": len(seeds), "n_scored": len(scores), "median": stats["median"],
           "ci_lo": ci[0], "ci_hi": ci[1], "ci_lo_seeds": stats["ci_lo"], "ci_hi_seeds": stats["ci_hi"],
           "verdict": verdict, "rule": rule, "tolerance": tolerance, "components": None}
    if comb:
        out["components"] = {"mean": comb["mean"], "var_sampling": comb["var_sampling"],
                             "var_seed": comb["var_seed"], "method": comb["method"],
                             "sampling": [smp and {"method": smp["method"], "values": smp["values"]}
                                          for _, smp in scored]}
    return out


def render(result: dict) -> str:
    """The verdict as a small text table plus the rule."""
    head = f"row {result['row_id']}: published FID" if result["row_id"] else "claimed FID"
    lines = [f"{head} {result['claim_fid']:g} on {result['dataset'] or '(unknown dataset)'}", "",
             f"{'seed':>6}  {'score':>12}  {'step':>8}  status       input"]
    for s in result["seeds"]:
        score = "-" if s["score"] is None else f"{s['score']:.4f}"
        lines.append(f"{str(s['seed']):>6}  {score:>12}  {str(s['step']):>8}  {str(s['status']):<11}  {s['input']}")
    lines += ["", f"median {result['median']:.4f}, CI [{result['ci_lo_seeds']:.4f}, {result['ci_hi_seeds']:.4f}] "
              f"over {result['n_scored']} scored of {result['n_inputs']} seeds"]
    comp = result.get("components")
    if comp:
        methods = sorted({s["method"] for s in comp["sampling"] if s})
        seed_sd = "n/a (one input)" if comp["var_seed"] != comp["var_seed"] else f"{comp['var_seed'] ** 0.5:.4f}"
        lines += [f"sampling ({'; '.join(methods)}): sd {comp['var_sampling'] ** 0.5:.4f}; training seeds: sd "
                  f"{seed_sd}; combined CI of the mean {comp['mean']:.4f}: [{result['ci_lo']:.4f}, "
                  f"{result['ci_hi']:.4f}] ({comp['method']})"]
    lines += [f"verdict: {result['verdict']}", f"rule: {result['rule']}"]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m ganaudit.audit.claim: the command line is ganaudit.cli.verdict
    from ganaudit.cli.main import run_module

    run_module("audit verdict")
