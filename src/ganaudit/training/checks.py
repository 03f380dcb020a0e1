"""Checks made before any computing: outputs writable, data prepared, protocol known; and the exit
code of a finished run (docs/CONTRACTS.md, "Errors and exit codes").

    preflight_train(cfg, run_dir, need_data=True)   # OutputError / ConfigError / DataError before training
    check_device(accelerator, option)               # ConfigError: CUDA asked for where torch has none
    check_size(cfg)            # ConfigError: parameters + gradients + Adam moments exceed the memory
    run_exit_code(result)      # 0 ok/diverged (a result), 1 failed (one line on stderr)

Whether a path can be written is ``ganaudit.utils.io.check_writable``; how a dataset is prepared,
``ganaudit.data.stages.prepare_hint``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

import ganaudit.data
from ganaudit.axes.archs import ARCHS
from ganaudit.metrics.features import EXTRACTORS
from ganaudit.metrics.protocols import protocol_for
from ganaudit.utils.errors import ConfigError, WeightsError
from ganaudit.utils.exits import EXIT_FAILURE, EXIT_OK, report
from ganaudit.utils.io import check_writable

__all__ = ["BYTES_PER_PARAM", "DEVICE_ENV", "available_memory", "check_device", "check_machine", "check_size",
           "model_parameters", "preflight_train", "run_exit_code", "transient"]

DEVICE_ENV = "GANAUDIT_DEVICE"  # overrides trainer.accelerator (cpu | gpu | cuda | auto)
# float32 weights, their gradients and Adam's two moments: 4 bytes x 4 per parameter (activations not counted)
BYTES_PER_PARAM = 16
# failure reasons that a rerun can get past (the run resumes from its last checkpoint)
TRANSIENT = ("interrupted", "killed", "KeyboardInterrupt", "OutOfMemoryError", "out of memory", "MemoryError",
             "OSError", "IOError", "PermissionError", "TimeoutError", "ConnectionError", "BrokenPipeError",
             "No space left", "can't allocate memory", "stopped at D step", "preempted", "signal", "SIGTERM",
             "SIGINT")


def transient(result: dict) -> bool:
    """Whether a failed run can be finished by rerunning it: it stopped for a reason outside its
    configuration and data (interrupted, killed, out of memory, an I/O error) and left a checkpoint."""
    reason = str(result.get("reason") or "")
    where = result.get("run_dir")
    has_ckpt = bool(where) and any((Path(where) / "checkpoints").glob("*.ckpt"))
    return has_ckpt and any(word in reason for word in TRANSIENT)


def run_exit_code(result: dict) -> int:
    """0 for a run that finished (``ok``, or ``diverged``: a result, reported on stderr); 1 with a
    one-line message for ``failed``, which says to rerun only when a rerun can help (:func:`transient`)."""
    status = result.get("status")
    where = result.get("run_dir") or "?"
    if status == "ok":
        return EXIT_OK
    if status == "diverged":
        report(f"run {where} diverged at D step {result.get('diverged_step')} ({result.get('reason')}); "
               "recorded as a result (status: diverged)", prefix="note: ")
        return EXIT_OK
    reason = str(result.get("reason") or "no reason recorded").rstrip("; ")
    reason = reason.replace("; rerun the same command to resume", "")
    if transient(result):
        hint = "rerun the same command to resume from its last checkpoint"
    else:
        hint = "rerunning the same command will not help until the cause above is fixed"
    report(f"run {where} failed: {reason}; details in {where}/result.json; {hint}")
    return EXIT_FAILURE


def preflight_train(cfg, rdir: Path, *, need_data: bool, check_protocol: bool = True) -> None:
    """Before a run writes or trains anything: its run directory (and evaluation record) writable,
    its evaluation protocol known for its dataset and the protocol's extractor weights present, its
    prepared training split present and at least one batch long, its device present
    (:func:`check_device`) and its model within memory (:func:`check_size`)."""
    check_writable(rdir, "run directory")
    name = str(cfg.dataset.name)
    if cfg.eval.enabled:
        if check_protocol:
            proto = protocol_for(name, str(cfg.eval.protocol))
            weights = Path(str(cfg.eval.artifacts_dir)) / "weights"
            try:  # the extractor the first evaluation needs: present and pinned, before training for it
                EXTRACTORS.get(proto.extractor)(weights)
            except WeightsError as exc:
                raise WeightsError(f"{exc} (ganaudit weights ensure {name} --out {weights} makes or fetches it; "
                                   "needed by the evaluations of this run, eval.enabled=true)") from None
        if cfg.eval.record_path:
            check_writable(cfg.eval.record_path, "option 'eval.record_path'", is_file=True)
    if need_data:
        split = ganaudit.data.open_split(name, "train", cfg.dataset.data_dir)
        batch = int(cfg.trainer.batch_size)
        if len(split) < batch:  # the data module's own check, before the run directory is written
            raise ConfigError(f"option 'trainer.batch_size' = {batch} exceeds the {len(split)} images of "
                              f"{name}/train; expected trainer.batch_size <= {len(split)}")
    check_machine(cfg)


def check_device(accelerator: str, option: str = "trainer.accelerator", *, torch_device: bool = False) -> None:
    """ConfigError when ``accelerator`` (Lightning's ``gpu``/``cuda``/``auto``/``cpu``, or with
    ``torch_device`` a torch device string: ``cpu``, ``cuda``, ``cuda:1``) is not one, or asks for a CUDA
    device that this torch cannot use; ``option`` is named."""
    acc = str(accelerator).strip().lower()
    kinds = ("cuda",) if torch_device else ("cuda", "gpu")
    expected = "cpu, cuda or cuda:N" if torch_device else "cpu, gpu, cuda or auto"
    if acc == "cpu" or (acc == "auto" and not torch_device):
        return
    kind, _, index = acc.partition(":")
    if kind not in kinds or (index and not torch_device):
        raise ConfigError(f"option '{option}' = {accelerator!r}: expected {expected}")
    if not torch.cuda.is_available():
        why = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no device visible"
        raise ConfigError(f"option '{option}' = {accelerator!r}: this machine has no CUDA device torch can use "
                          f"(torch {torch.__version__}: {why}); expected cpu{'' if torch_device else ' (or auto)'}")
    count = torch.cuda.device_count()
    if index and (not index.isdigit() or int(index) >= count):
        raise ConfigError(f"option '{option}' = {accelerator!r}: this machine has {count} CUDA device(s); "
                          f"expected cuda:0..cuda:{count - 1}")


def check_machine(cfg) -> None:
    """The run's device (``$GANAUDIT_DEVICE``, else ``trainer.accelerator``) exists here and its model
    fits in that device's memory: :func:`check_device`, :func:`check_size`."""
    env = os.environ.get(DEVICE_ENV)
    check_device(env or str(cfg.trainer.accelerator), f"${DEVICE_ENV}" if env else "trainer.accelerator")
    check_size(cfg)


def model_parameters(cfg) -> int | None:
    """Parameters of G + D for ``cfg``'s architecture, width and z_dim, counted on torch's ``meta``
    device (no memory is allocated); None when a tensor's size overflows (far beyond any memory)."""
    a = cfg.arch
    try:
        with torch.device("meta"):
            g, d = ARCHS.get(str(a.name)).build(int(a.resolution), str(cfg.norm.name), float(a.width),
                                                int(a.z_dim), str(a.init))
    except (RuntimeError, OverflowError, ValueError):
        return None
    return sum(p.numel() for m in (g, d) for p in m.parameters())


def available_memory(accelerator: str) -> tuple[int, str]:
    """(bytes, where): the memory a run can use, GPU memory when it trains on CUDA, else the RAM
    available now (``MemAvailable``, or total physical memory where /proc/meminfo is missing)."""
    acc = str(accelerator).lower()
    if acc.startswith(("cuda", "gpu")) or (acc == "auto" and torch.cuda.is_available()):
        free, total = torch.cuda.mem_get_info()
        return int(total), f"GPU memory of {torch.cuda.get_device_name()}"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024, "available RAM"
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical RAM"


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_size(cfg, accelerator: str | None = None) -> None:
    """ConfigError, before anything is allocated, when G + D's float32 parameters with their gradients
    and Adam moments (:data:`BYTES_PER_PARAM` bytes each; activations not counted, so this is a lower
    bound) exceed the memory the run can use (:func:`available_memory`)."""
    acc = accelerator or os.environ.get(DEVICE_ENV) or str(cfg.trainer.accelerator)
    params = model_parameters(cfg)
    have, where = available_memory(acc)
    need = None if params is None else params * BYTES_PER_PARAM
    if need is not None and need <= have:
        return
    what = "more than 2**63 elements in one tensor" if params is None else (
        f"{params:,} parameters, {_gib(need)} for weights, gradients and Adam moments")
    raise ConfigError(f"configuration too large: arch={cfg.arch.name} arch.width={cfg.arch.width} "
                      f"arch.z_dim={cfg.arch.z_dim} needs {what}; the {where} is {_gib(have)}; expected a "
                      "smaller arch.width (1.0 = the study) or arch.z_dim")
