"""Synthetic results frames and claims files for the claims tests (no training, no store on disk)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ganaudit.audit.claims_spec import parse_claims

COLUMNS = ["key", "study", "label", "dataset", "arch", "loss", "norm", "penalty", "setting", "source", "seed",
           "status", "fid_min", "fid_final", "wall_time_s", "d_steps", "n_dis", "lambda", "lr", "beta1", "beta2"]


def frame(a, b, *, a_axes=None, b_axes=None, dataset: str = "cifar10", status_a=None, status_b=None) -> pd.DataFrame:
    """Runs of two configurations (loss ns = side a, loss wgan = side b by default), one setting each,
    one run per value; NaN FID = a run without a finite FID."""
    rows = []
    for side, vals, axes, status in (("a", a, a_axes or {"loss": "ns"}, status_a),
                                     ("b", b, b_axes or {"loss": "wgan"}, status_b)):
        for i, v in enumerate(np.asarray(vals, float)):
            base = {"loss": "ns", "norm": "none", "penalty": "none", **axes}
            rows.append({"key": f"{side}-s{i}", "study": "synthetic", "label": f"{side}", "dataset": dataset,
                         "arch": "sndcgan", **base, "setting": "s", "source": "grid", "seed": i,
                         "status": (status[i] if status else "ok"), "fid_min": v, "fid_final": v,
                         "wall_time_s": 1.0, "d_steps": 100, "n_dis": 1, "lambda": None, "lr": 2e-4,
                         "beta1": 0.5, "beta2": 0.999})
    return pd.DataFrame(rows, columns=COLUMNS)


def claim(cid: str, statistic: str = "median", direction: str = "less", **kw) -> dict:
    out = {"id": cid, "statement": f"synthetic {cid}", "cites": "test", "a": {"loss": "ns"},
           "b": {"loss": "wgan"}, "statistic": statistic, "direction": direction, "choice": "test"}
    out.update(kw)
    return out


def claims_file(*claims: dict, n_boot: int = 50, n_perm: int = 1000, seed: int = 0, **kw):
    return parse_claims({"claims": list(claims), "n_boot": n_boot, "n_perm": n_perm, "seed": seed, **kw},
                        "synthetic.yaml")
