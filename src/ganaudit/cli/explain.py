"""``ganaudit audit explain --claim-fid Y INPUTS...``: which protocol variant explains a reported FID.

    ganaudit audit explain --claim-fid 4700 walk/*-s?                  # run directories (digits smoke runs)
    ganaudit audit explain --claim-fid 23.4 --dataset cifar10 s0.npz  # a sample file: bootstrap over fakes
    ganaudit audit explain --claim-fid 150 walk/*-s? --plan            # the cost only
    ganaudit audit explain --claim-fid 3900 walk/*-s? --at-n 5000 --axes n  # a claim made at 5k fakes

Every INPUT is scored under the protocol and under each variant (docs/why-fid-differs.md) of up to
``--max-changes`` changes; see :mod:`ganaudit.audit.explain`. Exit 0 with any answer, 2 on bad options
or inputs, 1 when reading or evaluating an input fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ganaudit.audit.claim import check_distinct, claimed_fid
from ganaudit.audit.explain import AXES, STANDARD_SIZES, Setup, candidates, combine, cost, explain
from ganaudit.audit.explain_io import load_source, make_setup, render, write_outputs
from ganaudit.cli.args import ArgumentParser, as_flags
from ganaudit.metrics.progress import progress_iter
from ganaudit.metrics.refstats import images_to_tensor
from ganaudit.metrics.samples import parse_range
from ganaudit.training.checks import check_device
from ganaudit.utils.determinism import MODE_ENV, enforce
from ganaudit.utils.errors import ConfigError, GanauditError
from ganaudit.utils.exits import exit_code, report
from ganaudit.utils.io import check_writable

# the library's option hints (dataset=<name>, ...) as this command's flags
FLAGS = {"dataset": "--dataset", "config": "--config", "samples_range": "--samples-range", "device": "--device"}


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="ganaudit audit explain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="run directories, generator files or sample files/folders (one per training seed)")
    p.add_argument("--claim-fid", type=float, required=True, help="the reported FID to explain")
    p.add_argument("--dataset", help="dataset (default: the checkpoints'; required for sample files)")
    p.add_argument("--protocol", default="auto")
    p.add_argument("--max-changes", type=int, default=2, help="changes per variant (default 2: pairs)")
    p.add_argument("--axes", default=",".join(AXES), help=f"axes to vary (default: all: {','.join(AXES)})")
    p.add_argument("--sizes", default=",".join(map(str, STANDARD_SIZES)),
                   help="sample sizes tried by n_fake= / n_real= besides half and double the protocol's")
    p.add_argument("--at-n", default="", metavar="N[,N...]",
                   help="also score n=N: the FID expected at N fakes from each stream's 1/N fit (a claim made "
                        "at 5k checked from a 10k evaluation, or the reverse); shown as an extrapolation with its CI")
    p.add_argument("--streams", type=int, default=5, help="latent streams per generator (K >= 2; stream 0 is "
                   "the protocol's)")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples for sample files")
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("--plan", action="store_true", help="print the cost and exit")
    p.add_argument("--out", type=Path, help="write explain.md, .csv, .json, .png here")
    p.add_argument("--config", help="a run's config.yaml, for bare generator state_dicts")
    p.add_argument("--trust-pickle", action="store_true",
                   help="load generator files that need full unpickling (a pickle can run arbitrary code)")
    p.add_argument("--samples-range", help="range of sample files: 0,1 | -1,1 | 0,255")
    p.add_argument("--root", default=".", help="where data/prepared/<dataset> lives")
    p.add_argument("--artifacts", default="artifacts", help="extractor weights")
    p.add_argument("--device", default="cpu")
    return p


def _setup(opts, sources_info, sizes: tuple[int, ...], at_n: tuple[int, ...]) -> tuple[Setup, dict]:
    datasets = {i.get("dataset") for i in sources_info if i.get("dataset")}
    if opts.dataset:
        datasets.add(opts.dataset)
    if len(datasets) != 1:
        raise ConfigError(f"inputs are on {len(datasets)} datasets ({', '.join(sorted(datasets)) or 'none known'});"
                          " expected one (pass --dataset for sample files)")
    axes = tuple(a for a in opts.axes.split(",") if a)
    bad = [a for a in axes if a not in AXES]
    if bad or opts.streams < 2 or opts.max_changes < 0:
        raise ConfigError(f"option '--axes' = {bad[0]!r}: expected names from {', '.join(AXES)}" if bad else
                          f"options '--streams' = {opts.streams} / '--max-changes' = {opts.max_changes}; "
                          "expected --streams >= 2 and --max-changes >= 0")
    return make_setup(datasets.pop(), opts.protocol, opts.root, opts.artifacts, opts.device, streams=opts.streams,
                      n_boot=opts.n_boot, level=opts.level, max_changes=opts.max_changes,
                      sizes=sizes, at_n=at_n,
                      axes=axes + (("n",) if at_n and "n" not in axes else ()))  # --at-n asks for n=N


def _counts(text: str, option: str, least: int) -> tuple[int, ...]:
    """Comma-separated sample counts, each an integer >= ``least``."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = (least - 1,)
    bad = [v for v in values if v < least]
    if bad:
        raise ConfigError(f"option '{option}' = {text!r}: expected comma-separated integers >= {least} "
                          "(numbers of images)")
    return values


def _per_image_seconds(setup: Setup, split_sizes: dict) -> float:
    """Seconds per image of the extractor, timed on one batch of real images (after a warm-up batch)."""
    images = images_to_tensor(setup.open_split(setup.proto.real_split).read_batch(0, setup.proto.extract_batch))
    setup.extractor(images[:2].to(setup.device))
    start = time.perf_counter()
    setup.extractor(images.to(setup.device))
    return (time.perf_counter() - start) / len(images)


def main(argv: list[str] | None = None) -> int:
    opts = parser().parse_args(argv)
    try:
        enforce(os.environ.get(MODE_ENV) or "portable")  # the kernels the runs were trained with
        check_device(opts.device, "--device", torch_device=True)
        if opts.out is not None:
            check_writable(opts.out, "--out folder")  # before any computing
        claimed_fid(opts.claim_fid)
        sizes, at_n = _counts(opts.sizes, "--sizes", 1), _counts(opts.at_n, "--at-n", 2)  # before any loading
        missing = [str(p) for p in opts.inputs if not p.exists()]
        if not missing:  # (a missing input is named by load_source)
            check_distinct(opts.inputs, opts.config, opts.trust_pickle)  # one seed, one input
        loaded = [load_source(p, opts.config, parse_range(opts.samples_range), trust_pickle=opts.trust_pickle)
                  for p in opts.inputs]
        sources, infos = [s for s, _ in loaded], [i for _, i in loaded]
        setup, split_sizes = _setup(opts, infos, sizes, at_n)
        singles, _ = candidates(setup, sources, split_sizes)
        variants = combine(singles, setup.max_changes)
        c = cost(setup, sources, variants, split_sizes, _per_image_seconds(setup, split_sizes))
        print(f"plan: {c['variants']} variants x {len(sources)} input(s) = {c['evaluations']} FID evaluations; "
              f"{c['fake_images']} fake and {c['real_images']} real images through {setup.proto.extractor}; "
              f"estimated {c['estimated_cpu_s']:.0f} s of extraction on this machine (generation not included)",
              file=sys.stderr if not opts.plan else sys.stdout, flush=True)
        if opts.plan:
            return 0
        result = explain(setup, sources, opts.claim_fid, split_sizes, progress=progress_iter)
        if opts.out is not None:
            paths = write_outputs(result, opts.out)
            print(f"written: {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    except GanauditError as exc:
        report(as_flags(str(exc), FLAGS))
        return exit_code(exc)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
