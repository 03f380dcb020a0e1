"""``ganaudit data {info,fetch,prepare,verify} <dataset> ...`` (= ``python -m ganaudit.data``).

    ganaudit data prepare digits              # -> data/prepared/digits, splits/digits.json
    ganaudit data verify digits               # exit 1 naming the first differing item
    ganaudit data fetch cifar10               # download + md5 check of the tarball
    ganaudit data info                        # datasets, sizes, where raw files go

Exit codes: 0 ok, 1 data problem (message names the file/item), 2 usage/config error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.progress import Progress

from ganaudit.cli.args import ArgumentParser
from ganaudit.data import DATASETS
from ganaudit.data.inventory import write_inventory
from ganaudit.data.manifest import first_difference, load_manifest, verify_store
from ganaudit.data.prepare import prepare
from ganaudit.data.store import MANIFEST, not_prepared
from ganaudit.utils.errors import ConfigError, DataError
from ganaudit.utils.exits import EXIT_FAILURE, EXIT_USAGE, report
from ganaudit.utils.log import setup_cli_logging

__all__ = ["fetch", "main", "verify"]


def _root() -> Path:
    return Path(os.environ.get("GANAUDIT_ROOT", "."))


def verify(name: str, data_dir: Path, splits_dir: Path) -> list[str]:
    """Problems found by recomputing the store ``data_dir`` against ``splits_dir/<name>.json``."""
    expected = load_manifest(splits_dir / f"{name}.json")
    if not (data_dir / MANIFEST).is_file():
        raise not_prepared(name, data_dir, f"no {MANIFEST}")

    total = sum(len(expected["splits"][s]["shards"]) for s in expected["splits"])
    with Progress(transient=True) as bar:
        task = bar.add_task(f"verifying {total} shards of {name}", total=total)
        problems = verify_store(data_dir, expected, on_shard=lambda: bar.advance(task))
    if not problems:
        diff = first_difference(expected, load_manifest(data_dir / MANIFEST))
        if diff:
            problems.append(f"{data_dir / MANIFEST}: {diff}")
    return problems


def fetch(name: str, raw_dir: Path, inventory_dir: Path) -> str:
    """Obtain (CIFAR-10) or check (others) the raw input and write its inventory; a status line."""
    path = write_inventory(name, raw_dir, inventory_dir)
    return f"ok: raw input of {name} pinned in {path}"


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="ganaudit data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="list datasets and where their raw files go")
    for cmd in ("fetch", "prepare", "verify"):
        s = sub.add_parser(cmd)
        s.add_argument("dataset", help=f"one of {', '.join(DATASETS.names())}")
        s.add_argument("--raw", type=Path, help="raw input dir (default data/raw/<dataset>)")
        s.add_argument("--out", type=Path, help="prepared store (default data/prepared/<dataset>)")
        s.add_argument("--splits", type=Path, help="committed manifests dir (default splits/)")
        if cmd == "prepare":
            s.add_argument("--seed", type=int, help="split seed (default: the dataset's, 0)")
            s.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
            s.add_argument("--shard-size", type=int, help="images per shard")
            s.add_argument("--n-total", type=int, help="expected raw image count (default pinned)")
            s.add_argument("--n-test", type=int, help="test split size (default pinned)")
            s.add_argument("--update-manifest", action="store_true",
                           help="overwrite the committed manifest instead of comparing with it")
            s.add_argument("--no-progress", action="store_true")
            s.add_argument("--source-option", action="append", default=[], metavar="KEY=VALUE",
                           help="dataset option, e.g. downsample=pil_lanczos (celeba_hq_128)")
    return p


def _info() -> int:
    for n in DATASETS.names():
        i = DATASETS.get(n)
        print(f"{n}: {i.resolution}px, {i.n_total} images, test {i.n_test}; raw: {i.raw_hint}")
    return 0


def _options(pairs: list[str]) -> dict[str, str]:
    """{key: value} from ``KEY=VALUE`` strings (ConfigError naming a malformed one)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--source-option '{pair}'; expected KEY=VALUE")
        out[key] = value
    return out


def _prepare(args: argparse.Namespace, raw: Path, out: Path, splits: Path) -> int:
    m = prepare(args.dataset, raw, out, seed=args.seed, n_total=args.n_total, n_test=args.n_test,
                shard_size=args.shard_size, workers=args.workers, splits_dir=splits,
                update_manifest=args.update_manifest, progress=not args.no_progress,
                source_options=_options(args.source_option))
    print(f"prepared {args.dataset} in {out}: train {m['splits']['train']['size']}, "
          f"test {m['splits']['test']['size']} (matches {splits / (args.dataset + '.json')})")
    return 0


def _verify(name: str, out: Path, splits: Path) -> int:
    problems = verify(name, out, splits)
    target = splits / f"{name}.json"
    if problems:
        print(f"verify {name}: FAILED ({out} vs {target})", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"verify {name}: ok ({out} matches {target})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 data problem, 2 config error)."""
    args = _parser().parse_args(argv)
    setup_cli_logging()
    try:
        if args.cmd == "info":
            return _info()
        info = DATASETS.get(args.dataset)
        root = _root()
        raw = args.raw or info.raw_dir(root)
        out = args.out or root / "data" / "prepared" / args.dataset
        splits = args.splits or root / "splits"
        if args.cmd == "fetch":
            print(fetch(args.dataset, raw, root / "data" / "raw" / "inventory"))
            return 0
        if args.cmd == "prepare":
            return _prepare(args, raw, out, splits)
        return _verify(args.dataset, out, splits)
    except DataError as exc:
        report(str(exc))
        if args.cmd != "info" and args.dataset in DATASETS:
            report(f"raw input for {args.dataset}: {DATASETS.get(args.dataset).raw_hint}", prefix="")
        return EXIT_FAILURE
    except ConfigError as exc:
        report(str(exc))
        return EXIT_USAGE
