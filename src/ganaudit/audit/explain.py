"""Which protocol choice, sample count or source of randomness explains a reported FID.

``ganaudit audit explain --claim-fid Y INPUTS...`` (CLI: :mod:`ganaudit.cli.explain`) scores the
inputs under the protocol and under each *variant*: one or more named changes to it
(docs/why-fid-differs.md). Each side is computed once and reused:

* fakes: per input, per generation key (checkpoint selection, G mode, latent distribution) and latent
  stream k (stream 0 = the protocol's own latents, k = 1..K-1 its seed + k), the generated images are
  post-processed for every requested (quantize, jpeg) and their features kept; a variant changing
  only the reference side re-uses them (no image is generated or extracted again);
* reference: per (split, resize) the split's features, once; ``n_real=`` takes its first n rows,
  ``n_fake=`` the first n fakes of each stream; ``n=inf`` / ``n=N`` read each stream's 1/N fit
  (:mod:`ganaudit.metrics.sample_size`) at infinity or at N fakes.

A variant's FIDs over inputs and streams (sample files: one value and a bootstrap over the fakes) are
combined by :func:`ganaudit.audit.stats.variance_components`; its CI is the interval a single reported
FID from this protocol would fall in (``pi``: training-seed + sampling variance + the mean's
uncertainty). A variant *explains* the claim when the claim lies in its CI; the explaining variants
are ranked by the number of changes, then by distance to the claim.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ganaudit.audit.stats import variance_components
from ganaudit.metrics.fid import feature_stats, fid_from_stats
from ganaudit.metrics.protocols import Protocol
from ganaudit.metrics.refstats import images_to_tensor
from ganaudit.metrics.sample_size import fid_at, fid_curve, fid_infinity, fid_n_ci, fit_inverse_n, subset_sizes
from ganaudit.metrics.samples import sample_batches
from ganaudit.metrics.variants import (
    JPEG_QUALITIES,
    RESIZE_FILTERS,
    RESIZING_EXTRACTORS,
    jpeg_roundtrip,
    latent_batches,
    quantize,
    resize_images,
)
from ganaudit.utils.errors import ConfigError

#: axes in display order, with the side of the evaluation they change
AXES = {"split": "real", "n_real": "real", "resize": "real", "n_fake": "fake", "n": "fit", "jpeg": "fake",
        "quantize": "fake", "g_mode": "fake", "latent": "fake", "select": "fake"}
STANDARD_SIZES = (5_000, 10_000, 50_000)
#: train mode at the protocol's generation batch, and in batches of 8 (a sampling script's small batches)
G_MODES = ("train", "train_b8")
MAX_FAKE_FACTOR = 4  # n_fake variants above 4x the protocol's fakes are listed as not applicable (cost)


@dataclass
class Source:
    """One input: generators by selection ('best' = the protocol's checkpoint, 'final'), or a sample file."""

    label: str
    kind: str  # "generator" | "samples"
    generators: dict[str, nn.Module] = field(default_factory=dict)
    z_dim: int = 128
    samples: Path | None = None
    value_range: tuple[float, float] | None = None
    steps: dict[str, int | None] = field(default_factory=dict)
    select_na: str | None = None  # why best and final cannot be told apart (None: "final" is a different one)


@dataclass
class Setup:
    """What every variant shares: protocol, dataset, extractor (injected), reference splits, options."""

    proto: Protocol
    dataset: str
    extractor: nn.Module
    open_split: object  # split name -> SplitView (read_batch(lo, hi) uint8 NHWC, len)
    streams: int = 5
    n_boot: int = 200
    seed: int = 0
    level: float = 0.95
    max_changes: int = 2
    device: torch.device = torch.device("cpu")
    sizes: tuple[int, ...] = STANDARD_SIZES
    axes: tuple[str, ...] = tuple(AXES)  # the axes to vary (default: all)
    at_n: tuple[int, ...] = ()  # n=N variants: the FID expected at N fakes from each stream's 1/N fit
    keep: Callable[[dict], bool] | None = None  # scores only the combinations it accepts (None: all)


def _fmt(changes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "no change"


# --- which variants exist ---------------------------------------------------------------------------------
def candidates(setup: Setup, sources: list[Source], split_sizes: dict[str, int]) -> tuple[list[dict], list[dict]]:
    """(single changes that apply, [{"changes", "reason"}] of those that do not) for these inputs."""
    proto, ds = setup.proto, setup.dataset
    n_real_cfg, n_fake = proto.counts(ds)
    n_real = n_real_cfg or split_sizes[proto.real_split]
    ok, na = [], []

    def add(axis, value, reason=None):
        (na.append({"changes": {axis: value}, "reason": reason}) if reason else ok.append({axis: value}))

    other = "train" if proto.real_split == "test" else "test"
    add("split", other, None if split_sizes.get(other, 0) >= n_real else
        f"the {other} split has {split_sizes.get(other, 0)} images; the protocol needs {n_real}")
    for n in sorted({n_real // 2, 2 * n_real, *setup.sizes} - {n_real}):
        add("n_real", n, None if n <= split_sizes[proto.real_split] else
            f"the {proto.real_split} split has {split_sizes[proto.real_split]} images")
    size = RESIZING_EXTRACTORS.get(proto.extractor)
    for f in RESIZE_FILTERS[1:]:
        add("resize", f, None if size else f"protocol '{proto.name}' does not resize (extractor "
            f"{proto.extractor} takes the images as they are)")
    only_samples = all(s.kind == "samples" for s in sources)
    for n in sorted({n_fake // 2, 2 * n_fake, *setup.sizes} - {n_fake}):
        reason = None
        if n > n_fake and only_samples:
            reason = f"sample files hold the protocol's {n_fake} fakes; no generator to draw more"
        elif n > MAX_FAKE_FACTOR * n_fake:
            reason = f"more than {MAX_FAKE_FACTOR}x the protocol's {n_fake} fakes (cost); pass --sizes to ask"
        add("n_fake", n, reason)
    try:
        subset_sizes(n_fake)
        fit_reason = None
    except ConfigError as exc:
        fit_reason = str(exc)
    for n in ("inf", *sorted(set(setup.at_n))):
        add("n", n, fit_reason)
    for q in JPEG_QUALITIES:
        add("jpeg", q)
    add("quantize", "round")
    add("quantize", "truncate")
    na.append({"changes": {"quantize": "float"}, "reason": "the protocol already scores unquantized float fakes"})
    gen_reason = "sample files: no generator to run" if any(s.kind == "samples" for s in sources) else None
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for s in sources for g in s.generators.values()
                 for m in g.modules())
    for mode in G_MODES:
        add("g_mode", mode, gen_reason or (None if has_bn else "the generator has no batch normalization: "
                                           "train mode changes nothing"))
    add("latent", "normal", gen_reason)
    add("select", "final", gen_reason or _select_reason(sources))
    keep = set(setup.axes)
    return [c for c in ok if next(iter(c)) in keep], [n for n in na if next(iter(n["changes"])) in keep]


def _select_reason(sources: list[Source]) -> str | None:
    """None when every input has a final checkpoint other than its best one, else the first input's reason."""
    for s in sources:
        if "final" not in s.generators:
            why = s.select_na or "a single generator file: no other checkpoint to compare with"
            return f"input '{s.label}': {why}"
    return None


def selection(sources: list[Source]) -> list[str]:
    """Per input, which checkpoints ``select=final`` compares: 'final step F vs best step B'."""
    return [f"{s.label}: final step {s.steps.get('final')} vs best step {s.steps.get('best')}"
            for s in sources if "final" in s.generators]


def combine(singles: list[dict], max_changes: int) -> list[dict]:
    """The plain protocol ({}), the singles, and their combinations of up to ``max_changes`` axes."""
    out = [{}]
    for r in range(1, max_changes + 1):
        for combo in itertools.combinations(singles, r):
            axes = [next(iter(c)) for c in combo]
            if len(set(axes)) < r or {"n", "n_fake"} <= set(axes) or {"jpeg", "quantize"} <= set(axes):
                continue  # one count change at a time; JPEG already rounds to uint8
            merged = {a: c[a] for c in combo for a in c}
            out.append({a: merged[a] for a in AXES if a in merged})
    return out


# --- keys of the two sides ---------------------------------------------------------------------------------
def gen_key(ch: dict) -> tuple:
    return (ch.get("select", "best"), ch.get("g_mode", "eval"), ch.get("latent", "uniform"))


def post_key(ch: dict) -> tuple:
    return (ch.get("quantize"), ch.get("jpeg"))


def real_key(ch: dict, proto: Protocol) -> tuple:
    return (ch.get("split", proto.real_split), ch.get("resize"))


def plan(setup: Setup, sources: list[Source], variants: list[dict]) -> dict:
    """What the variants need: per gen key its post keys and fake count, the real keys, the counts."""
    n_fake = setup.proto.counts(setup.dataset)[1]
    gens: dict[tuple, dict] = {}
    for ch in variants:  # per generation key: {post key: fakes needed}; n = the most of them
        g = gens.setdefault(gen_key(ch), {"posts": {}, "n": n_fake})
        pk, n = post_key(ch), int(ch.get("n_fake", n_fake))
        g["posts"][pk] = max(g["posts"].get(pk, n_fake), n)
        g["n"] = max(g["n"], n)
    reals = sorted({real_key(ch, setup.proto) for ch in variants}, key=str)
    return {"gens": gens, "reals": reals}


def cost(setup: Setup, sources: list[Source], variants: list[dict], split_sizes: dict[str, int],
         per_image_s: float) -> dict:
    """Evaluations, images generated/extracted and the estimated CPU seconds (``per_image_s`` per image)."""
    p = plan(setup, sources, variants)
    fakes = 0
    for g in p["gens"].values():
        for s in sources:
            k = setup.streams if s.kind == "generator" else 1
            fakes += k * sum(g["posts"].values())
    reals = sum(split_sizes[split] for split, _ in p["reals"])
    evals = sum(setup.streams if s.kind == "generator" else 1 for s in sources) * len(variants)
    return {"variants": len(variants), "evaluations": evals, "fake_images": fakes, "real_images": reals,
            "estimated_cpu_s": (fakes + reals) * per_image_s}


# --- features --------------------------------------------------------------------------------------------
@torch.no_grad()
def _extract(setup: Setup, images: torch.Tensor) -> np.ndarray:
    """features [B, d] float64 of float images [B, 3, H, W] in [0, 255], in the protocol's extract batches."""
    out = []
    for lo in range(0, len(images), setup.proto.extract_batch):
        out.append(setup.extractor(images[lo:lo + setup.proto.extract_batch].to(setup.device))[0].double().cpu())
    return torch.cat(out).numpy()


def _post(images: torch.Tensor, pkey: tuple) -> torch.Tensor:
    q, jpeg = pkey
    if q is not None:
        images = quantize(images, q)
    return jpeg_roundtrip(images, int(jpeg)) if jpeg is not None else images


@torch.no_grad()
def fake_features(setup: Setup, source: Source, gkey: tuple, posts: dict, n: int, k: int) -> dict:
    """{post key: features [posts[key], d]} of the first fakes of stream ``k`` (``n`` generated) under
    generation key ``gkey``; a post key's images are processed and extracted only up to its count."""
    select, g_mode, latent = gkey
    feats: dict[tuple, list] = {pk: [] for pk in posts}
    if source.kind == "samples":
        res = int(setup.open_split(setup.proto.real_split).read_batch(0, 1).shape[1])
        batches = sample_batches(source.samples, n, res, setup.proto.extract_batch, source.value_range)
    else:
        gen = source.generators[select]
        gen = copy.deepcopy(gen).train() if g_mode.startswith("train") else gen.eval()  # BN: batch statistics
        chunk = int(g_mode[len("train_b"):]) if g_mode.startswith("train_b") else setup.proto.gen_batch
        batches = (torch.cat([gen(z[lo:lo + chunk].to(setup.device)).float() for lo in range(0, len(z), chunk)])
                   * 255.0 for z in latent_batches(setup.proto, k, n, source.z_dim, latent))
    produced = 0
    for images in batches:
        images = images[: n - produced]
        produced += len(images)
        for pk, n_pk in posts.items():
            done = produced - len(images)  # fakes before this batch
            if done < n_pk:
                feats[pk].append(_extract(setup, _post(images[: n_pk - done], pk)))
    return {pk: np.concatenate(v) for pk, v in feats.items()}


def real_features(setup: Setup, rkey: tuple, n: int) -> np.ndarray:
    """features [n, d] of the first ``n`` images of split ``rkey[0]``, resized with ``rkey[1]`` if set."""
    split, resize = rkey
    view = setup.open_split(split)
    out = []
    for lo in range(0, n, setup.proto.extract_batch):
        images = images_to_tensor(view.read_batch(lo, min(lo + setup.proto.extract_batch, n)))
        if resize is not None:
            images = resize_images(images, RESIZING_EXTRACTORS[setup.proto.extractor], resize)
        out.append(_extract(setup, images))
    return np.concatenate(out)


# --- scores ------------------------------------------------------------------------------------------------
def _fit_point(fake: np.ndarray, mu: np.ndarray, sigma: np.ndarray, seed: int, n: float) -> float:
    """FID expected at ``n`` fakes (``math.inf``: FID-infinity) from one stream's 1/N fit (no bootstrap:
    the streams give the spread)."""
    sizes = subset_sizes(fake.shape[0])
    intercept, slope = fit_inverse_n(sizes, fid_curve(fake, mu, sigma, sizes, np.random.default_rng(seed)))
    return intercept + slope / n


def fit_n(ch: dict) -> float | None:
    """The N of an ``n=`` variant (``math.inf`` for n=inf), None when the variant has no ``n`` change."""
    n = ch.get("n")
    return None if n is None else math.inf if n == "inf" else float(n)


def score_variant(setup: Setup, ch: dict, sources: list[Source], fakes: dict, reals: dict, stats: dict) -> dict:
    """One variant's values per input and stream, combined (:func:`variance_components`)."""
    proto = setup.proto
    n_real_cfg, n_fake_cfg = proto.counts(setup.dataset)
    rkey = real_key(ch, proto)
    n_real = int(ch.get("n_real", n_real_cfg or len(reals[rkey])))
    n_fake = int(ch.get("n_fake", n_fake_cfg))
    skey = (rkey, n_real)
    if skey not in stats:
        stats[skey] = feature_stats(reals[rkey][:n_real])
    mu, sigma = stats[skey]
    values, boot_var = [], []
    for i, s in enumerate(sources):
        per = []
        for k in range(setup.streams if s.kind == "generator" else 1):
            f = fakes[(i, gen_key(ch), post_key(ch), k)][:n_fake]
            at = fit_n(ch)
            if s.kind == "samples":
                res = (fid_infinity(f, reals[rkey][:n_real], n_boot=max(20, setup.n_boot // 10), seed=setup.seed)
                       if at is not None else None)
                boot = fid_n_ci(f, reals[rkey][:n_real], n_boot=setup.n_boot, seed=setup.seed) if res is None else None
                value, ci = fid_at(res, at) if res else (boot["fid"], boot["ci"])
                per.append(value)
                boot_var.append(((ci[1] - ci[0]) / 2 / 1.959963984540054) ** 2)
            else:
                per.append(_fit_point(f, mu, sigma, setup.seed + k, at) if at is not None
                           else fid_from_stats(*feature_stats(f), mu, sigma))
        if s.kind == "generator":
            boot_var.append(None)
        values.append(per)
    comp = variance_components(values, boot_var, level=setup.level)
    return {"changes": ch, "label": _fmt(ch), "n_changes": len(ch), "fid": comp["mean"], "ci": comp["pi"],
            "ci_mean": comp["ci"], "var_sampling": comp["var_sampling"], "var_seed": comp["var_seed"],
            "values": values, "n_fake": n_fake, "n_real": n_real, "real_split": rkey[0],
            "extrapolated": fit_n(ch) is not None and fit_n(ch) > n_fake}


def provenance(setup: Setup, row: dict, sources: list[Source]) -> str:
    """One line: how the number was made."""
    p, ch = setup.proto, row["changes"]
    kinds = {s.kind for s in sources}
    sampling = (f"{setup.streams} latent streams (seeds {p.latent_seed}..{p.latent_seed + setup.streams - 1})"
                if kinds == {"generator"} else f"bootstrap over fakes ({setup.n_boot} resamples)"
                if kinds == {"samples"} else "latent streams / bootstrap over fakes")
    extra = "".join(f"; {k}={v}" for k, v in ch.items() if k not in ("n_fake", "n_real", "split", "n", "select"))
    if "n" in ch:
        extra += (f"; n={ch['n']}: read from each stream's 1/N fit (15 subset sizes up to {row['n_fake']}), "
                  + ("an extrapolation" if row["extrapolated"] else "an interpolation"))
    if "select" in ch:
        extra += f"; select=final ({'; '.join(selection(sources))})"
    return (f"{p.name} on {setup.dataset}: {row['n_fake']} fakes x {sampling} x {len(sources)} input(s) vs first "
            f"{row['n_real']} {row['real_split']} images; extractor {p.extractor} "
            f"{str(getattr(setup.extractor, 'weights_sha256', ''))[:12]}{extra}")


def rank(rows: list[dict], claim: float) -> list[dict]:
    """Explaining variants first (fewer changes, then closer), then the others by distance."""
    for r in rows:
        r["distance"] = abs(r["fid"] - claim)
        r["explains"] = bool(r["ci"][0] <= claim <= r["ci"][1])
    return sorted(rows, key=lambda r: (not r["explains"], r["n_changes"] if r["explains"] else 0, r["distance"]))


def explain(setup: Setup, sources: list[Source], claim: float, split_sizes: dict[str, int],
            progress=lambda items, label, total: items) -> dict:
    """Score every applicable variant (up to ``setup.max_changes`` changes) and rank them against ``claim``."""
    singles, na = candidates(setup, sources, split_sizes)
    variants = [v for v in combine(singles, setup.max_changes) if setup.keep is None or not v or setup.keep(v)]
    p = plan(setup, sources, variants)
    fakes: dict = {}
    jobs = [(i, s, g, spec, k) for g, spec in p["gens"].items() for i, s in enumerate(sources)
            for k in range(setup.streams if s.kind == "generator" else 1)]
    start = time.perf_counter()
    for i, s, g, spec, k in progress(jobs, "generating and extracting fakes", len(jobs)):
        for pk, f in fake_features(setup, s, g, spec["posts"], spec["n"], k).items():
            fakes[(i, g, pk, k)] = f
    n_real_cfg = setup.proto.counts(setup.dataset)[0]
    reals = {}
    for rkey in progress(p["reals"], "extracting reference images", len(p["reals"])):
        n_need = max([int(ch.get("n_real", n_real_cfg or split_sizes[rkey[0]])) for ch in variants
                      if real_key(ch, setup.proto) == rkey])
        reals[rkey] = real_features(setup, rkey, min(n_need, split_sizes[rkey[0]]))
    stats: dict = {}
    rows = [score_variant(setup, ch, sources, fakes, reals, stats)
            for ch in progress(variants, "scoring variants", len(variants))]
    for r in rows:
        r["provenance"] = provenance(setup, r, sources)
    plain = rows[0]
    ranked = rank(rows, claim)
    return {"claim_fid": claim, "protocol": setup.proto.name, "dataset": setup.dataset, "plain": plain,
            "variants": ranked, "not_applicable": na,
            "selection": selection(sources) if "select" in setup.axes else [],
            "explained": any(r["explains"] for r in ranked),
            "streams": setup.streams, "level": setup.level, "seconds": time.perf_counter() - start,
            "ci_meaning": f"{setup.level:.0%} interval for one reported FID: mean over inputs and streams +- t * "
                          "sqrt(training-seed variance + sampling variance + variance of the mean)"}



def plain_scores(setup: Setup, sources: list[Source], split_sizes: dict[str, int]) -> dict:
    """The protocol as is on every source: FIDs per stream (generators) or one FID and a bootstrap
    variance (sample files), combined by :func:`variance_components` (the verdict's sampling part)."""
    fakes, reals, stats = {}, {}, {}
    n_fake = setup.proto.counts(setup.dataset)[1]
    for i, s in enumerate(sources):
        for k in range(setup.streams if s.kind == "generator" else 1):
            feats = fake_features(setup, s, gen_key({}), {post_key({}): n_fake}, n_fake, k)
            fakes[(i, gen_key({}), post_key({}), k)] = feats[post_key({})]
    rkey = real_key({}, setup.proto)
    reals[rkey] = real_features(setup, rkey, setup.proto.counts(setup.dataset)[0] or split_sizes[rkey[0]])
    return score_variant(setup, {}, sources, fakes, reals, stats)
