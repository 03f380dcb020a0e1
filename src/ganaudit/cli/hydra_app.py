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
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

from ganaudit.training.config import RUN_LOCK_HINT, compose, run_dir, validate
from ganaudit.utils.conf import CONF_ENV, conf_dir
from ganaudit.utils.errors import ConfigError, GanauditError
from ganaudit.utils.exits import EXIT_USAGE, exit_code, report, run_cli
from ganaudit.utils.locks import check_free

PACKAGE_CONF = "pkg://ganaudit.conf"

__all__ = ["PACKAGE_CONF", "CONF_ENV", "config_path", "hydra_app", "hydra_cli", "refuse_bad_overrides"]


def config_path() -> str:
    """``$GANAUDIT_CONF`` as an absolute directory (checked), else ``pkg://ganaudit.conf``."""
    if not os.environ.get(CONF_ENV):
        return PACKAGE_CONF
    return str(conf_dir().resolve())  # ConfigError when the directory holds no config.yaml


def hydra_app(config_name: str) -> Callable[[Callable], Callable[[], None]]:
    """Decorator: ``task(cfg) -> int | None`` becomes a Hydra entry point reading ``sys.argv`` when
    called without arguments (``entry(cfg)`` runs the task on an already composed config, as
    ``hydra.main`` allows), under the one error policy (:func:`ganaudit.utils.exits.run_cli`): an
    anticipated error is one line and its exit code, SIGTERM / SIGINT one ``interrupted: ...`` line and
    143 / 130, and the output directory that Hydra made for a refused command is removed when it holds
    nothing but Hydra's own files (``.hydra/``, ``*.log``).

    A bad ``GANAUDIT_CONF`` is a one-line error and exit 2, before Hydra starts.
    """

    def wrap(body: Callable) -> Callable[..., None]:
        def run(cfg, under_hydra: bool) -> None:
            # an interrupted command keeps what it did (a run's result.json); a refused one leaves nothing
            code = run_cli(body, cfg, on_refused=_remove_refused_output_dir if under_hydra else None)
            if code:
                sys.exit(code)

        @functools.wraps(body)
        def task(cfg) -> None:  # what hydra.main runs, in the output directory it made
            run(cfg, under_hydra=True)

        @functools.wraps(body)
        def entry(cfg=None) -> None:
            if cfg is not None:  # as hydra.main: a composed config is passed straight to the task
                return run(cfg, under_hydra=False)
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


HYDRA_FILES = (".hydra",)  # with *.log: what Hydra writes into a run's output directory itself
# ancestors of this command's run directory that did not exist before it (None: not noted, e.g. a study)
_MADE_BY_HYDRA: set[Path] | None = None


def _note_missing_parents(path: Path) -> None:
    """Remember which ancestors of ``path`` do not exist yet (Hydra will make them; a refusal removes them)."""
    global _MADE_BY_HYDRA
    _MADE_BY_HYDRA = set()
    for parent in Path(path).absolute().parents:
        if parent.exists():
            break
        _MADE_BY_HYDRA.add(parent.resolve())


def _remove_refused_output_dir() -> None:
    """Remove the output directory Hydra made for this (refused) command if it holds only Hydra's own
    files, then its parents that are left empty (up to the working directory): a refusal leaves nothing."""
    # deferred: Hydra's import time, Hydra commands only
    from hydra.core.hydra_config import HydraConfig

    try:
        out = Path(HydraConfig.get().runtime.output_dir)
        entries = list(out.iterdir())
    except Exception:  # no Hydra run in progress (no output directory): nothing was made
        return
    if any(p.name not in HYDRA_FILES and not (p.suffix == ".log" and p.is_file()) for p in entries):
        return  # something of the command's own (a run's result.json, a study's log of its runs): kept
    shutil.rmtree(out, ignore_errors=True)
    stop = Path.cwd().resolve()
    parent = out.resolve().parent
    # a training run noted which parents it lacked (preflight_hydra_run); otherwise (a study's dated
    # folder) the empty parents below the working directory
    noted = _MADE_BY_HYDRA
    made = (lambda p: p in noted) if noted is not None else (lambda p: stop in p.parents)
    while parent != stop and made(parent):
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent


def _hydra_run_dir(args: list[str]) -> str | None:
    """The value of a ``hydra.run.dir=...`` override, if one is given."""
    for a in args:
        key, _, value = a.lstrip("+~").partition("=")
        if key == "hydra.run.dir":
            return value
    return None


def preflight_hydra_run(cfg, args: list[str]) -> None:
    """For a training run, before Hydra makes its run directory: the device it asks for exists, the
    model fits in memory (:mod:`ganaudit.training.checks`), the run directory (or ``hydra.run.dir``)
    can be created, and no other process is training the same run (whose ``.hydra/`` Hydra would
    otherwise rewrite before the training refuses)."""
    # deferred: these import torch; a usage error above is refused without it
    from ganaudit.training.checks import check_machine
    from ganaudit.utils.io import check_writable

    check_machine(cfg)
    where = _hydra_run_dir(args) or run_dir(cfg)
    check_writable(where, "run directory")
    # another training of this run: refused before Hydra writes into its .hydra/
    check_free(run_dir(cfg), what="run directory", hint=RUN_LOCK_HINT)
    _note_missing_parents(Path(where))


def refuse_bad_overrides(args: list[str], config_name: str) -> None:
    """Compose ``args`` (Hydra overrides) with :func:`ganaudit.training.config.compose` (and, for a training
    run, check its ranges with :func:`~ganaudit.training.config.validate`, then
    :func:`preflight_hydra_run`); an unknown option value, a misspelt key or a malformed override is one
    ``error:`` line and exit 2 (Hydra's own report is several lines and exit 1), an unwritable run
    directory exit 1, all before Hydra makes a directory. Skipped when Hydra flags (``--cfg``, ``-m``,
    ...) are given: those are Hydra's to parse."""
    global _MADE_BY_HYDRA
    _MADE_BY_HYDRA = None  # this command's own, noted by preflight_hydra_run
    if any(a.startswith("-") for a in args):
        return
    try:
        cfg = compose([a for a in args if not a.lstrip("+~").startswith("hydra")], config_name=config_name)
        if config_name == "config":  # a training run: its ranges too, before Hydra makes the run directory
            validate(cfg)
            preflight_hydra_run(cfg, args)
    except GanauditError as exc:
        report(str(exc))
        sys.exit(exit_code(exc))


def hydra_cli(main: Callable[[], Any], config_name: str) -> None:
    """Run a ``@hydra_app`` command on ``sys.argv`` after :func:`refuse_bad_overrides`."""
    refuse_bad_overrides(sys.argv[1:], config_name)
    main()
