"""``@hydra_app("config")``: ``hydra.main`` whose config path is chosen when the command runs, and
:func:`hydra_cli`, which runs such an app under the one error policy.

The configs ship inside the package (``ganaudit/conf``, searched as ``pkg://ganaudit.conf``), so a
plain ``pip install .`` composes from any directory. Nothing is resolved at import time:

* ``GANAUDIT_CONF=/my/conf``: use that directory *instead of* the packaged configs (it must hold the
  primary config, e.g. ``config.yaml``); every command (train, study, evaluate, describe) honours it.
* ``--config-dir /my/extra`` (Hydra) or ``hydra.searchpath=[file:///my/extra]``: *add* a directory
  whose groups/options extend the packaged ones (e.g. ``/my/extra/experiment/mine.yaml`` then
  ``experiment=mine``).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

from ganaudit.training.config import compose, validate
from ganaudit.utils.conf import CONF_ENV, conf_dir
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.exits import EXIT_USAGE, report

PACKAGE_CONF = "pkg://ganaudit.conf"

__all__ = ["PACKAGE_CONF", "CONF_ENV", "config_path", "hydra_app", "hydra_cli", "refuse_bad_overrides"]


def config_path() -> str:
    """``$GANAUDIT_CONF`` as an absolute directory (checked), else ``pkg://ganaudit.conf``."""
    if not os.environ.get(CONF_ENV):
        return PACKAGE_CONF
    return str(conf_dir().resolve())  # ConfigError when the directory holds no config.yaml


def hydra_app(config_name: str) -> Callable[[Callable], Callable[[], None]]:
    """Decorator: ``task(cfg)`` becomes a Hydra entry point reading ``sys.argv`` when called without
    arguments (``entry(cfg)`` runs the task on an already composed config, as ``hydra.main`` allows).

    A bad ``GANAUDIT_CONF`` is a one-line error and exit 2, before Hydra starts.
    """

    def wrap(task: Callable) -> Callable[..., None]:
        @functools.wraps(task)
        def entry(cfg=None) -> None:
            if cfg is not None:  # as hydra.main: a composed config is passed straight to the task
                return task(cfg)
            try:
                path = config_path()
            except ConfigError as exc:
                report(str(exc))
                raise SystemExit(EXIT_USAGE) from None
            # deferred: hydra.main's import pulls Hydra's plugin discovery, only when an app runs
            import hydra

            hydra.main(config_path=path, config_name=config_name, version_base="1.3")(task)()

        return entry

    return wrap


def refuse_bad_overrides(args: list[str], config_name: str) -> None:
    """Compose ``args`` (Hydra overrides) with :func:`ganaudit.training.config.compose` (and, for a training
    run, check its ranges with :func:`~ganaudit.training.config.validate`); an unknown option
    value, a misspelt key or a malformed override is one ``error:`` line and exit 2 (Hydra's own report
    is several lines and exit 1). Skipped when Hydra flags (``--cfg``, ``-m``, ...) are given: those are
    Hydra's to parse."""
    if any(a.startswith("-") for a in args):
        return
    try:
        cfg = compose([a for a in args if not a.lstrip("+~").startswith("hydra")], config_name=config_name)
        if config_name == "config":  # a training run: its ranges too, before Hydra makes the run directory
            validate(cfg)
    except ConfigError as exc:
        report(str(exc))
        sys.exit(EXIT_USAGE)


def hydra_cli(main: Callable[[], Any], config_name: str) -> None:
    """Run a ``@hydra_app`` command on ``sys.argv`` after :func:`refuse_bad_overrides`."""
    refuse_bad_overrides(sys.argv[1:], config_name)
    main()
