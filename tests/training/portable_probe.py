"""Train tiny configurations and evaluate them; print one JSON line of digests (run in a subprocess).

    python -m ganaudit.determinism exec --mode portable -- python -m tests.training.portable_probe \
        --mode portable --seeds 0 1 sndcgan/spectral/ns/wgan_gp resnet_cifar/batch/hinge/dragan

For each ``arch/norm/loss/penalty``: init with ``seed``, train ``--steps`` D steps (each with a G step)
on fixed random data through ganaudit.training.lit.steps, then "evaluate": a seeded DigitsCNN (random init,
the digits protocol's network) embeds 64 generated and 64 real images, and ``ganaudit.metrics.fid``
gives an FID (float64 eigenvalues through numpy/LAPACK). Output: ``{"settings": ..., "runs":
{"<combo>@<seed>": {"weights_sha256": hex, "fid": float.hex()}}}``. The weights digest covers every tensor of
G and D (raw bytes, key order fixed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path


def _digest(state: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].contiguous().numpy().tobytes())
    return h.hexdigest()


def _fid(G, seed: int) -> float:
    import torch

    from ganaudit.axes.archs import sample_z
    from ganaudit.metrics import fid
    from ganaudit.metrics.digits_cnn import DigitsCNN

    torch.manual_seed(1000)  # the same extractor for every run
    net = DigitsCNN().eval()
    real = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        fake = G.eval()(sample_z(64, 128, generator=torch.Generator().manual_seed(8)))
        fake = torch.nn.functional.interpolate(fake, size=32, mode="bilinear") if fake.shape[-1] != 32 else fake
        feats = [net(x.clamp(0, 1))[0].double().numpy() for x in (fake, real)]  # G's images are in [0, 1]
    return fid(*feats)


def _without_lightning() -> None:
    """Make ``ganaudit.training.lit.steps`` importable without the package's Lightning shell (~2.5 s of
    imports per process): the probe needs the step functions only."""
    import sys
    import types

    import ganaudit

    if "ganaudit.training.lit" not in sys.modules:
        pkg = types.ModuleType("ganaudit.training.lit")
        pkg.__path__ = [str(Path(ganaudit.__file__).parent / "training" / "lit")]
        sys.modules["ganaudit.training.lit"] = pkg


def probe(combo: str, seed: int, steps: int, width: float) -> dict:
    _without_lightning()
    from tests.training.test_determinism import RESOLUTION, run_steps

    arch, norm, loss, penalty, *kernels = combo.split("/")  # an optional 5th part: arch.conv_kernels
    conv_kernels = kernels[0] if kernels else "aten"
    res = RESOLUTION.get(arch, 32)
    state, _ = run_steps(arch, norm, loss, penalty, seed, "cpu", steps=steps, batch=8, width=width,
                         conv_kernels=conv_kernels)
    import torch

    from ganaudit.axes.archs import ARCHS

    G, _ = ARCHS.get(arch).build(res, norm, width, 128, "v2", conv_kernels)
    G.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("G.")})
    return {"weights_sha256": _digest(state), "fid": _fid(G, seed).hex(), "steps": steps,
            "threads": torch.get_num_threads()}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("combos", nargs="+", help="arch/norm/loss/penalty[/conv_kernels]")
    p.add_argument("--mode", default="portable")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--width", type=float, default=1 / 16)
    args = p.parse_args()
    from ganaudit.utils.determinism import enforce

    settings = enforce(args.mode)
    runs = {f"{c}@{s}": probe(c, s, args.steps, args.width) for c in args.combos for s in args.seeds}
    print(json.dumps({"settings": settings, "runs": runs}, sort_keys=True))


if __name__ == "__main__":
    main()
