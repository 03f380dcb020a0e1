"""Every use of hydra-core that goes beyond its documented API, in one place.

Checked against hydra-core 1.3.8 (pyproject pins ``>=1.3.2,<1.4``); ``tests/study/test_compat.py``
fails when one of these names disappears or changes its signature. The study drives the configured
Hydra launcher batch by batch from plain Python (BO rounds need one batch's results before planning
the next), which Hydra's public API does not offer outside a sweeper; what it needs for that:

* :func:`compose_multirun_config`: the full configuration (``hydra`` node included) that
  ``--multirun`` would compose for the running app, through the running ``Hydra`` object's
  ``compose_config`` (``hydra._internal.hydra.Hydra``);
* :func:`hydra_context`: the ``HydraContext`` a launcher's ``setup`` takes, whose ``callbacks`` is
  ``hydra._internal.callbacks.Callbacks`` (the ``hydra.callbacks`` of the configuration);
* :func:`failed_return` and :func:`job_error`: a failed ``JobReturn`` and its exception, kept in the
  dataclass field ``_return_value`` (the public ``return_value`` re-raises it and writes to stderr).

Everything else (``HydraConfig``, ``GlobalHydra``, ``Plugins.instantiate_launcher``, ``JobReturn``,
``JobStatus``, ``HydraContext``, ``RunMode``) is used as documented.
"""

from __future__ import annotations

from typing import Any, Sequence

from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig

__all__ = ["compose_multirun_config", "hydra_context", "failed_return", "job_error"]


def compose_multirun_config(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """The configuration ``--multirun`` would compose for ``config_name`` and ``overrides`` (call inside
    ``@hydra.main``)."""
    hydra = GlobalHydra.instance().hydra
    if hydra is None:
        raise RuntimeError("Hydra is not initialized: call inside a @hydra.main application")
    return hydra.compose_config(config_name=config_name, overrides=list(overrides), run_mode=RunMode.MULTIRUN,
                                with_log_configuration=False)


def hydra_context(config: DictConfig) -> Any:
    """``HydraContext`` for a launcher's ``setup``: the running app's config loader and the callbacks of
    ``config`` (``hydra.callbacks``)."""
    # deferred: hydra._internal is private API, held in this adapter so importing ganaudit does not fail when it moves
    from hydra._internal.callbacks import Callbacks

    return HydraContext(config_loader=GlobalHydra.instance().config_loader(), callbacks=Callbacks(config))


def failed_return(error: BaseException) -> Any:
    """A ``JobReturn`` of status FAILED carrying ``error``, as Hydra's ``run_job`` makes for a failed job."""
    ret = JobReturn()
    ret.status = JobStatus.FAILED
    ret._return_value = error
    return ret


def job_error(ret: Any) -> Any:
    """The exception a failed ``JobReturn`` carries (None if it carries none), without re-raising it."""
    return getattr(ret, "_return_value", None)
