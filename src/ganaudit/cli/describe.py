"""Describe a configuration without data or training: resolved config, parameter counts, output shapes.

    ganaudit describe arch=resnet19 dataset=celeba_hq_128 norm=layer       (= python -m ganaudit.describe)
    ganaudit describe experiment=kurach2019/hub13

prints the JSON object of :func:`ganaudit.training.describe.describe` (what its fields mean is said there).
"""

from __future__ import annotations

import json
import sys

from ganaudit.training.config import compose
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.exits import EXIT_USAGE, report

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``ganaudit describe <hydra overrides>``: print the JSON; exit 2 on a ConfigError."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        cfg = compose(argv)
        # deferred: a bad argument is refused before torch is imported
        from ganaudit.training.describe import describe

        print(json.dumps(describe(cfg), indent=2, sort_keys=True, default=str))
    except ConfigError as exc:
        report(str(exc))
        return EXIT_USAGE
    return 0
