"""How a dataset gets prepared here: the DVC stages that exist (``params.yaml``) and the command to name.

    params_datasets()          # ["digits", ...]: the prepare@<name> stages of dvc.yaml
    prepare_hint("cifar10")    # the command that prepares it, for error messages
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

__all__ = ["params_datasets", "prepare_hint"]


def params_datasets(root: str | Path | None = None) -> list[str]:
    """The datasets listed in ``<root>/params.yaml`` (the ``prepare@<name>`` stages of dvc.yaml)."""
    root = Path(root if root is not None else os.environ.get("GANAUDIT_ROOT", "."))
    try:
        return [str(d) for d in (yaml.safe_load((root / "params.yaml").read_text()) or {}).get("datasets", [])]
    except (OSError, yaml.YAMLError, AttributeError):
        return []


def prepare_hint(name: str, root: str | Path | None = None) -> str:
    """The command that prepares dataset ``name``: its DVC stage when params.yaml lists it, else the CLI."""
    cli = f"`python -m ganaudit.data prepare {name}`"
    if name in params_datasets(root):
        return f"`dvc repro prepare@{name}` (or {cli})"
    return (f"{cli} (`dvc repro prepare@{name}` exists only after adding '{name}' to the datasets list "
            "of params.yaml)")
