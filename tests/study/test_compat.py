"""The library internals the study relies on (ganaudit.study.compat_hydra, compat_submitit) are still
there with the signatures those adapters were written against; a library upgrade that moves one fails
here, by name, rather than somewhere in a study."""

import inspect
from dataclasses import fields

import pytest
from hydra.core.utils import JobReturn, JobStatus

from ganaudit.study import compat_hydra, compat_submitit


def _params(fn) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p != "self"]


def test_hydra_compose_config_and_callbacks_keep_their_signatures():
    from hydra._internal.callbacks import Callbacks
    from hydra._internal.hydra import Hydra
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import HydraContext

    assert _params(Hydra.compose_config)[:4] == ["config_name", "overrides", "run_mode", "with_log_configuration"]
    assert _params(Callbacks.__init__) == ["config"]
    for hook in ("on_job_start", "on_job_end"):   # what the launchers call on HydraContext.callbacks
        assert callable(getattr(Callbacks, hook))
    assert [f.name for f in fields(HydraContext)] == ["config_loader", "callbacks"]
    assert callable(GlobalHydra.config_loader)


def test_failed_job_return_carries_its_error_where_hydra_keeps_it():
    assert "_return_value" in {f.name for f in fields(JobReturn)}
    err = RuntimeError("node failure")
    ret = compat_hydra.failed_return(err)
    assert ret.status == JobStatus.FAILED and compat_hydra.job_error(ret) is err
    with pytest.raises(RuntimeError, match="node failure"):   # Hydra's public accessor re-raises the same
        _ = ret.return_value


def test_compose_multirun_config_inside_a_hydra_app(tmp_path):
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins

    from ganaudit.training.config import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compat_hydra.compose_multirun_config("run_study", ["hydra/launcher=slurm_local",
                                                                 f"hydra.sweep.dir={tmp_path}"])
        assert cfg.hydra.sweep.dir == str(tmp_path) and cfg.hydra.launcher.partition == "local"
        ctx = compat_hydra.hydra_context(cfg)
        assert ctx.config_loader is GlobalHydra.instance().config_loader()
        launcher = Plugins.instance().instantiate_launcher(hydra_context=ctx, task_function=len, config=cfg)
        assert compat_submitit.is_slurm_launcher(launcher)
        assert launcher.params["partition"] == "local" and launcher.params["submitit_folder"].startswith(str(tmp_path))
    GlobalHydra.instance().clear()
    with pytest.raises(RuntimeError, match="inside a @hydra.main application"):
        compat_hydra.compose_multirun_config("run_study", [])


def test_submitit_plugin_launcher_keeps_its_call_and_params():
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher, SlurmLauncher

    assert issubclass(SlurmLauncher, BaseSubmititLauncher)
    assert tuple(_params(BaseSubmititLauncher.__call__)) == compat_submitit.CALL_ARGUMENTS
    assert callable(BaseSubmititLauncher.checkpoint)     # what requeues a preempted array task
    launcher = SlurmLauncher(partition="gpu", mem_gb=32, submitit_folder="/x/%j")
    assert launcher.params == {"partition": "gpu", "mem_gb": 32, "submitit_folder": "/x/%j"}
    assert not compat_submitit.is_slurm_launcher(object())


def test_submitit_base_params_are_the_plugins_queue_fields():
    # hand-written from the plugin's BaseQueueConf: these go to submitit without the "slurm_" prefix
    assert compat_submitit.base_params() == {"timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node",
                                             "mem_gb", "nodes", "name", "stderr_to_stdout"}


def test_array_arguments_number_the_jobs_from_the_initial_index():
    args = compat_submitit.array_arguments([["a=1"], ["a=2"]], initial_job_idx=5)
    assert [a[:4] for a in args] == [(["a=1"], "hydra.sweep.dir", 5, "job_id_for_5"),
                                     (["a=2"], "hydra.sweep.dir", 6, "job_id_for_6")]
    assert all(isinstance(a[4], dict) for a in args)   # Hydra's singleton state, restored in the task
