"""determinism=portable: the same weights and FIDs whatever instruction sets the machine offers.

One machine stands in for many: each check trains in subprocesses whose *outer* environment caps the
instruction sets differently (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS,
MKL_DEBUG_CPU_TYPE, OPENBLAS_CORETYPE), as a user's AVX2-only or AVX-512 machine would choose. In
portable mode ``ganaudit.utils.determinism`` overrides them, so weights (sha256 of every tensor) and the FID
(float.hex) must be the same bits; another seed must give other weights. In fast mode the same caps
must change the weights (the check has teeth). Covered: SNDCGAN with spectral norm + WGAN-GP, ResNet
(CIFAR) with batch norm + DRAGAN and with layer norm + WGAN-GP (the penalties' double backward).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganaudit.training.config import compose, validate
from ganaudit.utils import determinism
from ganaudit.utils.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
# the last one on the fixed-order convolutions (arch.conv_kernels=fixed_order; NUMBA_CPU_NAME and _FEATURES cap them)
COMBOS = ["sndcgan/spectral/ns/wgan_gp", "resnet_cifar/batch/hinge/dragan", "resnet_cifar/layer/wgan/wgan_gp",
          "sndcgan/spectral/hinge/wgan_gp/fixed_order"]
AVX2_CAPS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}
OLD_CPU_CAPS = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                "NUMBA_CPU_NAME": "x86-64", "NUMBA_CPU_FEATURES": "+sse2",
                "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "MKL_DEBUG_CPU_TYPE": "5", "OPENBLAS_CORETYPE": "Nehalem"}


def _outer_env(caps: dict) -> dict:
    """This environment without the mode's variables, plus ``caps`` (a machine's own choices)."""
    env = {k: v for k, v in os.environ.items() if k not in {*determinism.PORTABLE_ENV, determinism.MODE_ENV}}
    return {**env, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]), "OMP_NUM_THREADS": "1", **caps}


def _start(mode: str, caps: dict, combos=COMBOS, seeds=(0,), steps: int = 3) -> subprocess.Popen:
    """Start tests/training/portable_probe.py in a fresh process (through ``determinism exec`` for portable)."""
    cmd = [sys.executable, "-m", "tests.training.portable_probe", *combos, "--mode", mode, "--steps", str(steps),
           "--seeds", *map(str, seeds)]
    if mode == "portable":
        cmd = [sys.executable, "-m", "ganaudit.determinism", "exec", "--mode", "portable", "--", *cmd]
    return subprocess.Popen(cmd, cwd=REPO, env=_outer_env(caps), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def probes(*jobs: tuple) -> list[dict]:
    """Run probes side by side (one thread each; two cores give two at a time); their JSON outputs."""
    procs = [_start(*job) for job in jobs]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


# ------------------------------------------------------------------------------------ the proof
@pytest.mark.determinism
@pytest.mark.timeout(600)
def test_portable_weights_and_fid_are_bit_identical_under_other_instruction_set_caps():
    base, capped = probes(("portable", {}, COMBOS, (0, 1)),
                          ("portable", {**AVX2_CAPS, "MKL_ENABLE_INSTRUCTIONS": "AVX2", "MKL_CBWR": "AUTO",
                                        "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+sse4.2,+avx,+avx2,+fma"}))
    assert base["settings"]["cpu_capability"] == capped["settings"]["cpu_capability"] == "DEFAULT"
    assert base["settings"]["mkldnn_enabled"] is False and base["settings"]["intra_op_threads"] == 1
    for combo in COMBOS:
        assert capped["runs"][f"{combo}@0"] == {**base["runs"][f"{combo}@0"]}, combo
        # another seed: other weights and another FID
        assert base["runs"][f"{combo}@1"]["weights_sha256"] != base["runs"][f"{combo}@0"]["weights_sha256"]
        assert base["runs"][f"{combo}@1"]["fid"] != base["runs"][f"{combo}@0"]["fid"]


@pytest.mark.determinism
@pytest.mark.timeout(600)
def test_fast_mode_weights_change_with_the_instruction_set():
    """The teeth of the proof: without pinning, capping ATen/oneDNN/MKL changes the bits."""
    if torch.backends.cpu.get_cpu_capability() == "DEFAULT" and "ATEN_CPU_CAPABILITY" not in os.environ:
        pytest.skip("this CPU has no vector instruction set above the generic kernels")
    combo = COMBOS[:1]
    own, old = probes(("fast", {}, combo), ("fast", OLD_CPU_CAPS, combo))
    assert own["settings"]["cpu_capability"] != "DEFAULT" and old["settings"]["cpu_capability"] == "DEFAULT"
    assert own["runs"][f"{combo[0]}@0"]["weights_sha256"] != old["runs"][f"{combo[0]}@0"]["weights_sha256"]


@pytest.mark.determinism
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_portable_bits_hold_under_every_cap_we_can_set():
    """Longer (6 D steps) and more caps: the old-CPU set, MKL's CPU type, and AVX-512 where present."""
    cap_sets = [OLD_CPU_CAPS, {"MKL_DEBUG_CPU_TYPE": "5", "MKL_CBWR": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2",
                               "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+sse4.2,+avx,+avx2,+fma"}]
    if "avx512f" in determinism.cpu_summary()["flags"]:
        cap_sets.append({"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
                         "OPENBLAS_CORETYPE": "SkylakeX"})
    base, *capped = probes(*[("portable", caps, COMBOS, (0,), 6) for caps in [{}, *cap_sets]])
    for caps, out in zip(cap_sets, capped, strict=True):
        assert out["runs"] == base["runs"], caps


# ------------------------------------------------------------------ the mode's pieces, in-process
def test_mode_env_overrides_a_users_caps_in_portable_and_keeps_them_in_fast():
    user = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AUTO", "HOME": "/h"}
    portable = determinism.mode_env("portable", user)
    assert portable["ATEN_CPU_CAPABILITY"] == "default" and portable["MKL_CBWR"] == "COMPATIBLE"
    assert portable["OMP_NUM_THREADS"] == "1" and portable["HOME"] == "/h"
    assert portable[determinism.MODE_ENV] == "portable"
    assert determinism.mode_env("fast", user) == {**user, determinism.MODE_ENV: "fast"}
    with pytest.raises(ConfigError, match="option 'determinism' = 'exact': expected one of portable, fast"):
        determinism.mode_env("exact", user)


def test_mode_from_argv_last_override_wins_else_the_config_default():
    assert determinism.mode_from_argv(["seed=1"]) == "portable"                 # conf/config.yaml
    assert determinism.mode_from_argv(["study=demo"], "run_study") == "portable"
    assert determinism.mode_from_argv(["determinism=portable", "determinism=fast"]) == "fast"
    assert determinism.mode_from_argv(["+determinism='fast'"]) == "fast"
    with pytest.raises(ConfigError, match="'determinism' = 'quick'"):
        determinism.mode_from_argv(["determinism=quick"])


@pytest.mark.parametrize("module", ["ganaudit.train", "ganaudit.study"])
def test_entry_point_with_a_bad_mode_is_a_one_line_usage_error(module):
    proc = subprocess.run([sys.executable, "-m", module, "determinism=quick"], cwd=REPO, env=_outer_env({}),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "error: option 'determinism' = 'quick': expected one of portable, fast"


def _cfg(**trainer):
    return compose(["determinism=portable", *(f"trainer.{k}={'null' if v is None else v}" for k, v in trainer.items())])


@pytest.fixture
def _restore_torch_flags():
    before = (torch.backends.mkldnn.enabled, torch._C._get_nnpack_enabled(), torch.get_num_threads(),
              torch.are_deterministic_algorithms_enabled())
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    fill = torch.utils.deterministic.fill_uninitialized_memory
    yield
    torch.utils.deterministic.fill_uninitialized_memory = fill
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.mkldnn.enabled = before[0]
    torch.backends.nnpack.set_flags(before[1])
    torch.set_num_threads(before[2])
    torch.use_deterministic_algorithms(before[3])


def test_enforce_portable_sets_the_runtime_flags_and_records_them(_restore_torch_flags):
    torch.set_num_threads(2)
    torch.backends.mkldnn.enabled = True
    validate(_cfg())
    s = determinism.enforce("portable")     # the suite runs with the portable environment (conftest)
    assert (torch.backends.mkldnn.enabled, torch._C._get_nnpack_enabled(), torch.get_num_threads()) == (False, False, 1)
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory and s["fill_uninitialized_memory"] is False
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert s["mode"] == "portable" and s["cpu_capability"] == "DEFAULT" and s["mkldnn_enabled"] is False
    assert s["env"]["MKL_CBWR"] == "COMPATIBLE" and s["torch"] == torch.__version__
    assert s["cpu"]["machine"] and isinstance(s["cpu"]["flags"], list)
    json.dumps(s)  # JSON-serializable: it goes into result.json and evals.jsonl


def _demo_steps(steps: int) -> dict:
    """The demo's step (SNDCGAN 1/8, SN, hinge, TF1 Adam, batch 32) ``steps`` times from seed 0."""
    from ganaudit.axes.archs import ARCHS, sample_z
    from ganaudit.axes.losses import LOSSES
    from ganaudit.axes.optim import make_adam
    from ganaudit.training.lit.steps import plain_step

    torch.manual_seed(0)
    G, D = ARCHS.get("sndcgan").build(32, "spectral", 0.125, 128)
    opt_d, opt_g = (make_adam("tf1", m.parameters(), lr=1e-3, betas=(0.5, 0.9), eps=1e-8) for m in (D, G))
    real = torch.rand(32, 3, 32, 32)
    for _ in range(steps):
        plain_step(G, D, LOSSES.get("hinge"), None, 0.0, real, sample_z(32, 128), opt_d, opt_g)
    return {f"{n}.{k}": v.clone() for n, m in (("G", G), ("D", D)) for k, v in m.state_dict().items()}


def test_portable_without_the_nan_fill_trains_the_same_bits(_restore_torch_flags):
    """Portable turns off the NaN fill of new tensors (~900 ops per step): no kernel on the demo's path reads
    memory it did not write, so the weights are the same bits with and without the fill."""
    determinism.enforce("portable")
    torch.utils.deterministic.fill_uninitialized_memory = True
    filled = _demo_steps(4)
    torch.utils.deterministic.fill_uninitialized_memory = False
    unfilled = _demo_steps(4)
    assert filled.keys() == unfilled.keys()
    for k in filled:
        assert torch.equal(filled[k], unfilled[k]), k
    assert not torch.equal(filled["G.linear.weight"], _demo_steps(5)["G.linear.weight"])  # the steps do train


def test_enforce_fast_changes_nothing(_restore_torch_flags):
    torch.backends.mkldnn.enabled = True
    torch.set_num_threads(2)
    validate(compose(["determinism=fast", "trainer.cpu_threads=2"]))  # fast allows more threads
    s = determinism.enforce("fast")
    assert s["mode"] == "fast" and torch.backends.mkldnn.enabled and torch.get_num_threads() == 2


def test_enforce_refuses_portable_in_a_process_without_its_environment(monkeypatch):
    monkeypatch.delenv("MKL_CBWR")
    with pytest.raises(ConfigError, match=r"started without MKL_CBWR=COMPATIBLE.*python -m ganaudit.determinism exec"):
        determinism.enforce("portable")
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")  # env set after import torch
    with pytest.raises(ConfigError, match=r"before import torch \(torch chose AVX2\)"):
        determinism.enforce("portable")


@pytest.mark.parametrize("trainer, message", [
    ({"cpu_threads": 2}, "'trainer.cpu_threads' = 2 with determinism=portable"),
    ({"deterministic": False}, "'trainer.deterministic' = False"),
])
def test_portable_refuses_settings_it_cannot_keep(trainer, message):
    with pytest.raises(ConfigError, match=message):
        validate(_cfg(**trainer))


# ------------------------------------------------------------------ the user's command, end to end
def _digits_root(root: Path) -> Path:
    """GANAUDIT_ROOT with prepared digits and the shipped digits CNN weights (refstats made on demand)."""
    import shutil

    from ganaudit.data.prepare import prepare

    prepare("digits", None, root / "data" / "prepared" / "digits", splits_dir=root / "splits", progress=False)
    (root / "artifacts" / "weights").mkdir(parents=True)
    shutil.copy(REPO / "src" / "ganaudit" / "resources" / "digits_cnn.pt", root / "artifacts" / "weights")
    return root


def _train_cli(root: Path, caps: dict, *overrides: str) -> tuple[dict, str]:
    """``python -m ganaudit.train trainer=smoke arch.width=0.125 determinism=portable`` in a fresh
    process under ``caps``; returns (result, sha256 of the final G+D state_dict)."""
    import hashlib

    cmd = [sys.executable, "-m", "ganaudit.train", "trainer=smoke", "arch.width=0.125", "determinism=portable",
           "trainer.progress_bar=false", "eval.every=10", *overrides]
    proc = subprocess.run(cmd, cwd=REPO, env={**_outer_env(caps), "GANAUDIT_ROOT": str(root)},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{\n"):])
    state = torch.load(Path(result["run_dir"]) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode() + state[k].contiguous().numpy().tobytes())
    return result, h.hexdigest()


@pytest.mark.determinism
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_train_cli_portable_gives_the_same_weights_and_fids_under_other_caps(tmp_path):
    """The README's command, with evaluation (digits_cnn FID every 10 D steps), in two outer environments."""
    a, b = _digits_root(tmp_path / "a"), _digits_root(tmp_path / "b")
    res_a, sha_a = _train_cli(a, {})
    res_b, sha_b = _train_cli(b, OLD_CPU_CAPS)
    assert res_a["status"] == res_b["status"] == "ok" and len(res_a["evals"]) == 3
    assert sha_a == sha_b
    assert [e["fid"].hex() for e in res_a["evals"]] == [e["fid"].hex() for e in res_b["evals"]]
    assert res_b["determinism"]["env"]["ATEN_CPU_CAPABILITY"] == "default"      # the outer cap was overridden
    assert res_b["determinism"]["env"]["MKL_DEBUG_CPU_TYPE"] == "5"             # ... and is recorded
    record = json.loads((Path(res_b["run_dir"]) / "evals.jsonl").read_text().splitlines()[-1])
    assert record["provenance"]["determinism"]["cpu_capability"] == "DEFAULT"
    _, sha_seed1 = _train_cli(a, {}, "seed=1")
    assert sha_seed1 != sha_a
