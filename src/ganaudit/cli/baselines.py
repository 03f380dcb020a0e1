"""``ganaudit baselines [--check]`` (= ``python -m ganaudit.audit.baselines``): write (or check) the config
files that encode the study's published settings (ganaudit.audit.baselines); ``--check`` exits 1 on
any difference.
"""

from __future__ import annotations

from ganaudit.audit import baselines
from ganaudit.cli.args import ArgumentParser

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="ganaudit baselines", description=baselines.__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 on any difference")
    args = ap.parse_args(argv)
    if args.check:
        problems = baselines.check()
        print("\n".join(problems) or "in sync")
        return 1 if problems else 0
    print(f"wrote {baselines.write()} files")
    return 0
