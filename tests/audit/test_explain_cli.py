"""``ganaudit audit explain`` end to end on a digits-like split: plan, outputs, refusals."""

from __future__ import annotations

import csv
import json

import torch

from ganaudit.cli.explain import main as explain_main
from tests.metrics.conftest import TinyGenerator, digits_view, digits_weights  # noqa: F401 (fixtures)


def _gens(tmp_path, n=2):
    paths = []
    for seed in range(n):
        path = tmp_path / f"g{seed}.pt"
        torch.save(TinyGenerator(seed=seed).eval(), path)
        paths.append(str(path))
    return paths


def test_plan_then_outputs(tmp_path, capsys, digits_weights, digits_view):  # noqa: F811
    common = ["--claim-fid", "50", "--dataset", "digits", "--artifacts", str(digits_weights.parent),
              "--streams", "2", "--axes", "n_real,g_mode", "--sizes", "", "--trust-pickle", *_gens(tmp_path)]
    assert explain_main([*common, "--plan"]) == 0
    out = capsys.readouterr().out
    # plain + n_real=250 + g_mode=train, train_b8 + n_real with each g_mode = 6 variants x 2 inputs x 2 streams
    assert out.startswith("plan: 6 variants x 2 input(s) = 24 FID evaluations;") and "claimed" not in out
    assert explain_main([*common, "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "protocol as is: FID" in text and "not applicable: n_real=1000: the test split has 500 images" in text
    got = json.loads((tmp_path / "out" / "explain.json").read_text())
    assert [sorted(v["changes"].items()) for v in got["variants"]].count([]) == 1 and len(got["variants"]) == 6
    assert got["plain"]["changes"] == {} and all(set(v) >= {"changes", "fid", "ci", "explains", "provenance"}
                                                 for v in got["variants"])
    explains = [v["explains"] for v in got["variants"]]
    assert explains == sorted(explains, reverse=True)  # explaining variants first
    rows = list(csv.DictReader(open(tmp_path / "out" / "explain.csv")))
    assert [r["changes"] for r in rows] == [v["label"] for v in got["variants"]]
    assert (tmp_path / "out" / "explain.png").stat().st_size > 1000 and (tmp_path / "out" / "explain.md").is_file()


def test_bad_inputs_are_one_line_errors(tmp_path, capsys, digits_weights, digits_view):  # noqa: F811
    assert explain_main(["--claim-fid", "5", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: input") and err.count("\n") == 1
    gens = _gens(tmp_path, 1)
    assert explain_main(["--claim-fid", "5", "--dataset", "digits", "--axes", "colour", "--trust-pickle",
                         "--artifacts", str(digits_weights.parent), *gens]) == 2
    err = capsys.readouterr().err
    assert "'--axes' = 'colour'" in err and err.count("\n") == 1
