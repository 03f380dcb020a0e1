"""``@hydra_app("config")``: ``hydra.main`` whose config path is chosen when the command runs.

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
from typing import Callable

PACKAGE_CONF = "pkg://ganaudit.conf"
CONF_ENV = "GANAUDIT_CONF"

__all__ = ["PACKAGE_CONF", "CONF_ENV", "config_path", "hydra_app"]


def config_path() -> str:
    """``$GANAUDIT_CONF`` as an absolute directory (checked), else ``pkg://ganaudit.conf``."""
    if not os.environ.get(CONF_ENV):
        return PACKAGE_CONF
    from ganaudit.training.config import conf_dir  # ConfigError when the directory holds no config.yaml

    return str(conf_dir().resolve())


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
            from ganaudit.utils.errors import ConfigError

            try:
                path = config_path()
            except ConfigError as exc:
                from ganaudit.utils.exits import report

                report(str(exc))
                raise SystemExit(2) from None
            import hydra

            hydra.main(config_path=path, config_name=config_name, version_base="1.3")(task)()

        return entry

    return wrap
