"""``ganaudit audit verdict`` (= ``python -m ganaudit.audit.claim``): check one reported FID against seeds.

    ganaudit audit verdict --row hub13 runs/*/checkpoints/last.ckpt          # a published row
    ganaudit audit verdict --claim-fid 23.4 --dataset cifar10 s0.npz s1.npz s2.npz

What it checks and how: ganaudit.audit.claim. Prints the verdict (``--json``: as JSON); exit 0 with any
verdict, 2 on bad options or inputs, 1 when reading or evaluating an input fails.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganaudit.cli.args import ArgumentParser, as_flags
from ganaudit.utils.errors import ConfigError, GanauditError
from ganaudit.utils.exits import exit_code, report

__all__ = ["FLAGS", "main", "parser"]

# the library's option hints as this command's flags (samples_range: only ganaudit evaluate has it)
FLAGS = {"dataset": "--dataset", "config": "--config", "device": "--device", "samples_range": None}


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="ganaudit audit verdict", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="one per seed: checkpoint, generator file, sample file/folder, or run directory")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--row", help="a published row id of --baselines, e.g. hub13")
    what.add_argument("--claim-fid", type=float, help="a reported FID to check (with --dataset for sample files)")
    p.add_argument("--dataset", help="dataset of the claim (default: the row's, or the checkpoints')")
    p.add_argument("--baselines", default="audits/baselines/published_models.csv")
    p.add_argument("--protocol", default="auto", help="evaluation protocol (default: auto, as in training)")
    p.add_argument("--config", help="a run's config.yaml, for bare generator state_dicts")
    p.add_argument("--trust-pickle", action="store_true",
                   help="load generator files that need full unpickling (a pickle can run arbitrary code)")
    p.add_argument("--root", default=".", help="where data/prepared/<dataset> lives (default: .)")
    p.add_argument("--data-dir", default=None, help="prepared data (default: <root>/data/prepared/<dataset>)")
    p.add_argument("--artifacts", default="artifacts", help="extractor weights and reference statistics")
    p.add_argument("--record", default="artifacts/evals/verdict.jsonl", help="evaluation records appended here")
    p.add_argument("--device", default="cpu")
    p.add_argument("--any-d-steps", dest="match_d_steps", action="store_false",
                   help="accept runs of another length than the row's")
    p.add_argument("--min-seeds", type=int, default=3)
    p.add_argument("--level", type=float, default=0.95, help="bootstrap CI level")
    p.add_argument("--n-boot", type=int, default=10_000)
    p.add_argument("--bootstrap-seed", type=int, default=0)
    p.add_argument("--streams", type=int, default=5,
                   help="latent streams per generator input for the sampling variance (0: seeds only)")
    p.add_argument("--sampling-boot", type=int, default=200, help="bootstrap resamples over a sample file's fakes")
    p.add_argument("--tolerance", type=float, default=0.10,
                   help="relative CI half-width above which the verdict is 'inconclusive' (default 0.10)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    opts = parser().parse_args(argv)
    # deferred: a bad argument is refused before torch is imported
    from ganaudit.audit import claim as claim_mod
    from ganaudit.training.checks import check_device

    try:
        if opts.row:
            claim = claim_mod.published_claim(opts.row, Path(opts.baselines))
            if opts.dataset and opts.dataset != claim["dataset"]:
                raise ConfigError(f"option '--dataset' = '{opts.dataset}' but row {opts.row} is on "
                                  f"'{claim['dataset']}'; expected no --dataset")
        else:
            claim = claim_mod.Claim(fid=claim_mod.claimed_fid(opts.claim_fid), dataset=opts.dataset, row_id=None,
                                    row=None)
        check_device(opts.device, "--device", torch_device=True)
        missing = [str(p) for p in opts.inputs if not p.exists()]
        if missing:
            raise ConfigError(f"input '{missing[0]}': no such file or directory; expected a checkpoint, "
                              "generator file, sample file/folder or run directory")
        claim_mod.check_distinct(opts.inputs, opts.config, opts.trust_pickle)  # one seed, one input
        seeds = [claim_mod.seed_score(path, claim, opts) for path in opts.inputs]
        result = claim_mod.check_claim(claim, seeds, opts, claim_mod.sampling_part(seeds, claim, opts))
    except GanauditError as exc:
        report(as_flags(str(exc), FLAGS))
        return exit_code(exc)  # 2 for a bad option or input, 1 when reading or evaluating one fails
    print(json.dumps(result, indent=1, sort_keys=True, default=str) if opts.json else claim_mod.render(result))
    return 0
