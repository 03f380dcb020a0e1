"""One run per GPU under ``hydra/launcher=parallel``: count the GPUs, pin each worker process to one.

The parallel launcher (joblib/loky) keeps ``n_jobs`` worker processes; ``n_jobs`` defaults to the
number of GPUs when there are any (resolver ``${ganaudit_parallel_jobs:<cpu default>}``). Before its
first run, a worker claims a free *device slot* 0..k-1 by taking an exclusive ``flock`` on
``<lock dir>/slot-<i>.lock`` (held until the process exits, so a slot is never shared by two live
workers, and a dead worker's slot is free again), then sets ``CUDA_VISIBLE_DEVICES`` to that GPU
before CUDA starts: Lightning's ``devices: 1`` is then that GPU. If the user already restricted
``CUDA_VISIBLE_DEVICES`` (e.g. ``2,3``), slot i is its i-th entry.

``GANAUDIT_FAKE_GPUS=<k>`` pretends there are k GPUs (tests and dry runs on a CPU machine); the lock
directory is ``$GANAUDIT_DEVICE_LOCKS`` (default ``${TMPDIR:-/tmp}/ganaudit-device-slots``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

from omegaconf import OmegaConf

log = logging.getLogger(__name__)

FAKE_ENV = "GANAUDIT_FAKE_GPUS"
LOCKS_ENV = "GANAUDIT_DEVICE_LOCKS"
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/kfd")   # NVIDIA, AMD ROCm
_claimed: dict[str, Any] = {}   # this process's slot: {"slot": i, "device": "...", "fd": lock fd}


def visible_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """The GPU ids this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (``["0", "1", ...]``)."""
    env = os.environ if environ is None else environ
    if env.get(FAKE_ENV):
        return [str(i) for i in range(int(env[FAKE_ENV]))]
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if not any(os.path.exists(d) for d in GPU_DEVICE_FILES):
        return []   # no GPU driver here: skip importing torch (seconds) in every worker
    try:
        # deferred: without a GPU driver (above) a worker skips torch's import time
        import torch

        count = torch.cuda.device_count()   # NVML count: does not initialise CUDA
    except Exception:
        count = 0
    if listed is not None and listed.strip():
        return [d.strip() for d in listed.split(",") if d.strip()][:count] if count else []
    return [str(i) for i in range(count)]


def parallel_jobs(cpu_default: Any = 2) -> int:
    """``n_jobs`` of the parallel launcher: the number of GPUs if any, else ``cpu_default``."""
    gpus = visible_gpus()
    return len(gpus) if gpus else int(cpu_default)


def _lock_dir() -> Path:
    return Path(os.environ.get(LOCKS_ENV) or Path(tempfile.gettempdir()) / "ganaudit-device-slots")


def claim_slot(n_slots: int, wait_s: float = 0.5) -> int:
    """Take (once per process) a free slot in 0..n_slots-1; waits while all are held by live workers."""
    if "slot" in _claimed:
        return int(_claimed["slot"])
    root = _lock_dir()
    root.mkdir(parents=True, exist_ok=True)
    announced = False
    while True:
        for i in range(n_slots):
            fd = os.open(root / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _claimed.update(slot=i, fd=fd)
            return i
        if not announced:
            log.warning("all %d device slots in %s are held by other runs; waiting for one", n_slots, root)
            announced = True
        time.sleep(wait_s)


def pin_device(options: Mapping[str, Any]) -> str | None:
    """With ``options["pin_gpus"]`` true and GPUs present, pin this process to its slot's GPU
    (``CUDA_VISIBLE_DEVICES``); returns that GPU id, or None when nothing was pinned."""
    if not options.get("pin_gpus"):
        return None
    if "device" in _claimed:
        return str(_claimed["device"])
    gpus = visible_gpus()
    if not gpus:
        return None
    slot = claim_slot(len(gpus))
    _claimed["device"] = gpus[slot]
    os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slot]
    log.info("process %d pinned to GPU %s (slot %d)", os.getpid(), gpus[slot], slot)
    return gpus[slot]


def device_env() -> dict:
    """What a run records about its device: ``{"gpu": pinned GPU id or None, "cuda_visible_devices"}``."""
    return {"gpu": _claimed.get("device"), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def register_resolver() -> None:
    """``${ganaudit_parallel_jobs:<cpu default>}`` for ``conf/hydra/launcher/parallel.yaml``."""
    if not OmegaConf.has_resolver("ganaudit_parallel_jobs"):
        OmegaConf.register_new_resolver("ganaudit_parallel_jobs", parallel_jobs)
