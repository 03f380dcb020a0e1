"""``ganaudit digits-cnn {train,pin}`` (= ``python -m ganaudit digits-cnn``): train the digits demo
classifier on the prepared digits train split and write its weights (ganaudit.metrics.digits_cnn), or
print the pin line for ``ganaudit.metrics.pins``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganaudit.cli.args import ArgumentParser
from ganaudit.utils.exits import run_cli

__all__ = ["main"]


def _digits_cnn(argv: list[str] | None) -> int:
    parser = ArgumentParser(prog="ganaudit digits-cnn", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "pin"])
    parser.add_argument("--out", type=Path, default=Path("artifacts/weights/digits_cnn.pt"))
    parser.add_argument("--data-dir", type=Path, default=Path("data/prepared/digits"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    if args.command == "pin":
        digest = args.out.with_name(args.out.name + ".sha256").read_text().split()[0]
        print(f"set DIGITS_CNN_SHA256 = {digest!r} in src/ganaudit/metrics/pins.py")
        return 0
    # deferred: a bad argument is refused before torch is imported
    from ganaudit.metrics.digits_cnn import train_and_save

    info = train_and_save(args.out, args.data_dir, seed=args.seed, epochs=args.epochs)
    print(json.dumps(info))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Train and write the classifier (or print the pin line); anticipated errors are one line."""
    return run_cli(_digits_cnn, argv)
