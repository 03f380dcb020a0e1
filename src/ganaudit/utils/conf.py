"""Where the Hydra configs are read from: the packaged ``ganaudit/conf`` or ``$GANAUDIT_CONF``.

    conf_dir()       # Path holding config.yaml; ConfigError when $GANAUDIT_CONF names a directory without one
    PACKAGE_CONF     # the configs shipped in the wheel (the repository's top-level conf/)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ganaudit.utils.errors import ConfigError

__all__ = ["CONF_ENV", "PACKAGE_CONF", "conf_dir"]

CONF_ENV = "GANAUDIT_CONF"
PACKAGE_CONF = Path(importlib.util.find_spec("ganaudit.conf").submodule_search_locations[0])  # conf/, shipped


def conf_dir() -> Path:
    """The directory holding ``config.yaml``: ``$GANAUDIT_CONF`` or the package's ``ganaudit/conf``."""
    env = os.environ.get(CONF_ENV)
    path = Path(env) if env else PACKAGE_CONF
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"no config.yaml in conf directory '{path}'; expected {CONF_ENV} unset (the packaged "
            "configs) or naming a directory that holds config.yaml"
        )
    return path
