"""Determinism modes: ``portable`` (the same bits on any x86-64 CPU) or ``fast`` (the CPU's own kernels).

PyTorch, MKL, OpenBLAS and numpy pick kernels per instruction set (AVX-512, AVX2, ...), and a GAN
amplifies last-bit differences: the same seed and config gave other weights and FIDs on an AVX2-only
machine than on an AVX-512 one. ``portable`` pins every such choice:

* environment, read when the libraries initialize (so it must be set before ``import torch``):
  :data:`PORTABLE_ENV` (ATen's generic kernels, MKL's conditional numerical reproducibility at the
  lowest code path, OpenBLAS's and numpy's baseline kernels, one thread everywhere);
* runtime, applied by :func:`apply` at train start: oneDNN (mkldnn) and NNPACK off, one intra-op
  thread, deterministic algorithms (without their NaN fill of new tensors), and on GPUs TF32 off
  (docs/notes/training.md: what a GPU can and cannot promise).

``fast`` changes nothing (whatever the machine picks; bit-identical reruns on the same machine only).

Entry points (``python -m ganaudit.train``, ``python -m ganaudit.study``) call :func:`reexec_for_mode`
before they import torch: the process restarts itself once with the pinned environment. Other commands
run under ``python -m ganaudit.determinism exec -- <command ...>`` (dvc.yaml does), or with the
variables of ``python -m ganaudit.determinism env`` exported. In-process use (``train(cfg)``) with
``determinism: portable`` in a process started without them is refused with a ConfigError.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Mapping, Sequence

import yaml

from ganaudit.utils.conf import conf_dir
from ganaudit.utils.errors import ConfigError
from ganaudit.utils.exits import report

__all__ = ["MODES", "DEFAULT_MODE", "MODE_ENV", "PORTABLE_ENV", "mode_env", "mode_from_argv",
           "reexec_for_mode", "reexec_cli", "reexec_into", "mode_from_flag", "missing_settings", "enforce",
           "kernels_id", "kernels_in_force", "add_mode_flag", "settings", "cpu_summary"]

MODES = ("portable", "fast")
DEFAULT_MODE = "portable"
MODE_ENV = "GANAUDIT_DETERMINISM"       # the mode the process was started in (set by mode_env)
_REEXEC_MARK = "GANAUDIT_DETERMINISM_REEXEC"

#: Variables read when a library initializes. Each one measurably changed weights or FIDs when it
#: was left to the machine (docs/notes/training.md, "Determinism modes").
PORTABLE_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "default",   # ATen's vectorized kernels: the generic (non-AVX) build
    "MKL_CBWR": "COMPATIBLE",           # MKL GEMM: the reproducible SSE2 code path on every CPU
    "ONEDNN_MAX_CPU_ISA": "SSE41",      # oneDNN is off (apply); a cap in case an op still reaches it
    "OPENBLAS_CORETYPE": "Nehalem",     # numpy/scipy LAPACK (FID's eigenvalues): SSE kernels
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",  # numpy's SIMD above SSE4.2
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
#: variables recorded in every run's provenance (the pinned ones and the caps a user may set)
RECORDED_ENV = (*PORTABLE_ENV, MODE_ENV, "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE",
                "DNNL_MAX_CPU_ISA", "CUBLAS_WORKSPACE_CONFIG")


def check_mode(mode: str, where: str = "determinism") -> str:
    """``mode`` if it is one of MODES, else ConfigError naming the option."""
    if mode not in MODES:
        raise ConfigError(f"option '{where}' = {mode!r}: expected one of {', '.join(MODES)}")
    return mode


def mode_env(mode: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment for ``mode``: ``base`` (default os.environ) with PORTABLE_ENV set over it
    for ``portable`` (a user's caps such as ATEN_CPU_CAPABILITY=avx2 are overridden), unchanged but
    for the mode marker for ``fast``."""
    env = dict(os.environ if base is None else base)
    if check_mode(mode) == "portable":
        env.update(PORTABLE_ENV)
    env[MODE_ENV] = mode
    return env


def mode_from_argv(argv: Sequence[str], config_name: str = "config") -> str:
    """The mode a Hydra command line asks for: its last ``determinism=<mode>`` override, else the
    ``determinism`` default of ``conf/<config_name>.yaml``, else DEFAULT_MODE."""
    mode = None
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if sep and key == "determinism":
            mode = value.strip("'\"")
    if mode is None:

        data = yaml.safe_load((conf_dir() / f"{config_name}.yaml").read_text()) or {}
        mode = str(data.get("determinism", DEFAULT_MODE))
    return check_mode(mode)


def _env_differs(env: Mapping[str, str]) -> bool:
    return any(os.environ.get(k) != v for k, v in env.items() if k in PORTABLE_ENV or k == MODE_ENV)


def reexec_for_mode(config_name: str = "config") -> None:
    """Restart this process (same interpreter, options and arguments) in the environment of the mode
    that its command line asks for, unless it already runs in it. Call from ``__main__`` before torch
    is imported. A bad mode exits with status 2 and a one-line message."""
    _reexec_as(lambda: mode_from_argv(sys.argv[1:], config_name))


def mode_from_flag(argv: Sequence[str], default: str = DEFAULT_MODE) -> str:
    """The mode an argparse command line asks for with ``--determinism MODE`` (or ``=MODE``), else
    ``default``; ConfigError for an unknown mode."""
    mode = default
    for i, arg in enumerate(argv):
        if arg == "--determinism" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--determinism="):
            mode = arg.partition("=")[2]
    return check_mode(mode, "--determinism")


def reexec_cli(default: str = DEFAULT_MODE) -> None:
    """:func:`reexec_for_mode` for the argparse commands that compute numbers outside training
    (reference statistics, the real-data floor, the audit): ``--determinism portable|fast``, default
    ``default``. Call from ``__main__``; a bad mode exits with status 2 and a one-line message."""
    _reexec_as(lambda: mode_from_flag(sys.argv[1:], default))


def add_mode_flag(parser, what: str) -> None:
    """Add ``--determinism portable|fast`` (default portable) to an argparse ``parser``; ``what`` names
    what the kernels compute (shown in the help). Pair with :func:`reexec_cli` and :func:`enforce`."""
    parser.add_argument("--determinism", choices=list(MODES), default=DEFAULT_MODE,
                        help=f"kernels of {what} (ganaudit.utils.determinism): portable = the same bits on any "
                             "x86-64 CPU, as the runs use (default); fast = this CPU's own")


def _reexec_as(read_mode) -> None:
    """:func:`reexec_into` the mode ``read_mode()`` returns; a bad mode exits 2 with one line."""
    try:
        mode = read_mode()
    except ConfigError as exc:
        report(str(exc))
        sys.exit(2)
    reexec_into(mode)


def reexec_into(mode: str) -> None:
    """Restart this process in the environment of ``mode`` unless it already runs in it."""
    env = mode_env(mode)
    if mode == "fast" or not _env_differs(env):
        os.environ[MODE_ENV] = mode  # fast needs no restart: children inherit the marker
        os.environ.pop(_REEXEC_MARK, None)  # restarted once; this process's children start afresh
        return
    if os.environ.get(_REEXEC_MARK):  # the restarted process still lacks them: never loop
        report(f"determinism={mode}: the environment could not be set for {sys.argv[0]}")
        sys.exit(1)
    env[_REEXEC_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, list(sys.orig_argv), env)


def exec_command(mode: str, command: Sequence[str]) -> None:
    """Replace this process by ``command`` run in the environment of ``mode``."""
    if not command:
        raise ConfigError("no command given; expected: python -m ganaudit.determinism exec [--mode M] -- CMD ...")
    os.execvpe(command[0], list(command), mode_env(mode))


def missing_settings(mode: str) -> list[str]:
    """The import-time settings of ``mode`` not in force in this process (empty for ``fast``).

    Checks the environment and what ATen actually chose (``get_cpu_capability`` is fixed when torch
    first dispatches, so a variable set after ``import torch`` shows up here as missing)."""
    if check_mode(mode) == "fast":
        return []
    # deferred: torch reads the determinism environment at import; commands load this module before their restart
    import torch

    missing = [f"{k}={v}" for k, v in PORTABLE_ENV.items() if os.environ.get(k) != v]
    cap = torch.backends.cpu.get_cpu_capability()
    if cap != "DEFAULT" and "ATEN_CPU_CAPABILITY=default" not in missing:
        missing.append(f"ATEN_CPU_CAPABILITY=default before import torch (torch chose {cap})")
    return missing


def _runtime(mode: str) -> None:
    """Apply the runtime part of ``mode`` (process-wide, left in force)."""
    # deferred: torch reads the determinism environment at import; commands load this module before their restart
    import torch

    if mode == "portable":
        torch.backends.mkldnn.enabled = False   # oneDNN convolutions pick kernels per ISA
        torch.backends.nnpack.set_flags(False)  # NNPACK convolutions likewise
        torch.set_num_threads(1)                # reduction order is fixed by one thread
        torch.use_deterministic_algorithms(True)
        # ...but without its NaN fill of every new tensor (a check for kernels that read memory they did
        # not write: none on our paths, so the bits are the same; it adds ~900 ops per demo step)
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.allow_tf32 = False  # on GPUs: full FP32 (TF32 exists on some GPUs only)
        torch.backends.cuda.matmul.allow_tf32 = False


def enforce(mode: str) -> dict:
    """Enforce ``mode`` at train start: check that its import-time settings are in force (ConfigError if
    not) and apply its runtime settings (``portable``: oneDNN and NNPACK off, one intra-op thread,
    deterministic algorithms; ``fast`` changes nothing); returns :func:`settings` (for result.json).
    The options portable cannot keep (``trainer.deterministic``, ``trainer.cpu_threads``) are refused by
    ``ganaudit.training.config.validate``."""
    missing = missing_settings(mode)
    if missing:
        raise ConfigError(
            f"option 'determinism' = '{mode}' but this process was started without {', '.join(missing)}; "
            "expected them in the environment before torch is imported: run `python -m ganaudit.train ...` "
            "(it sets them), prefix the command with `python -m ganaudit.determinism exec --`, "
            "or choose determinism=fast")
    _runtime(mode)
    return settings(mode)


def kernels_id(mode: str, device: str = "cpu") -> str:
    """The name of a kind of kernels, ``<mode>-<device type>`` (``portable-cpu``, ``fast-cuda``, ...)."""
    return f"{check_mode(mode)}-{str(getattr(device, 'type', device)).split(':')[0]}"


def kernels_in_force(device: str = "cpu") -> str:
    """Which kernels this process computes with on ``device``: ``portable-cpu`` when every portable
    setting (the import-time environment and the runtime switches) is in force, else ``fast-cpu``;
    ``<mode>-cuda`` on a GPU (whose bits depend on the GPU model as well; docs/notes/training.md).
    Caches of computed numbers (reference statistics) carry it in their key, so numbers computed with
    one kind of kernels are never reused by a computation with the other."""
    # deferred: torch reads the determinism environment at import; commands load this module before their restart
    import torch

    portable = (not missing_settings("portable") and not torch.backends.mkldnn.enabled
                and not torch._C._get_nnpack_enabled() and torch.get_num_threads() == 1)
    return kernels_id("portable" if portable else "fast", device)


def cpu_summary() -> dict:
    """The CPU's model and the instruction-set extensions that steer kernel choices."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    watched = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile")
    return {"model": model, "machine": platform.machine(), "cores": os.cpu_count(),
            "flags": [f for f in watched if f in flags]}


def settings(mode: str | None = None) -> dict:
    """The determinism settings in force in this process (JSON-serializable; recorded per run and
    per evaluation): mode, the relevant environment, torch's backend flags and threads, the CPU
    capability ATen uses, the CPU and the torch version."""
    # deferred: torch reads the determinism environment at import; commands load this module before their restart
    import torch

    return {
        "mode": mode or os.environ.get(MODE_ENV) or "fast",
        "env": {k: os.environ.get(k) for k in RECORDED_ENV},
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn_enabled": bool(torch.backends.mkldnn.enabled),
        "nnpack_enabled": bool(torch._C._get_nnpack_enabled()),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "fill_uninitialized_memory": bool(torch.utils.deterministic.fill_uninitialized_memory),
        "intra_op_threads": torch.get_num_threads(),
        "cpu": cpu_summary(),
        "cuda": _cuda_summary(torch),
    }


def _cuda_summary(torch) -> dict | None:
    """GPU model, CUDA/cuDNN versions and TF32 flags when a GPU is visible (None on CPU-only hosts)."""
    if not torch.cuda.is_available():
        return None
    return {"device": torch.cuda.get_device_name(), "capability": list(torch.cuda.get_device_capability()),
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32}
