"""``select=final`` on run directories: which checkpoints it compares (best = the minimum-FID checkpoint,
final = the last), and not applicable, with the reason, where the two cannot be told apart."""

from __future__ import annotations

import json

import pytest

from ganaudit.audit import explain_io
from ganaudit.audit.explain import candidates, selection

from . import tiny_setup as tiny


def _run(tmp_path, monkeypatch, kept: list[int], last: int, fids: dict[int, float], fid_min_step: int | None):
    """A run directory whose checkpoints are files naming their step; load_generator reads that step."""
    run = tmp_path / "run-s0"
    (run / "checkpoints").mkdir(parents=True)
    for step in kept:
        (run / "checkpoints" / f"dstep-{step:07d}.ckpt").write_text(str(step))
    (run / "checkpoints" / "last.ckpt").write_text(str(last))
    (run / "result.json").write_text(json.dumps({"fid_min_step": fid_min_step}))
    (run / "evals_index.jsonl").write_text("".join(json.dumps({"step": s, "fid": f}) + "\n" for s, f in fids.items()))

    def fake_load(path, config=None, trust_pickle=False):
        gen = tiny.Generator()
        gen.step = int(open(path).read())
        return gen, {"step": gen.step, "z_dim": 4, "dataset": "tiny"}

    monkeypatch.setattr(explain_io, "load_generator", fake_load)
    return explain_io.load_source(run)[0]


def _select_reason(source) -> str | None:
    _, na = candidates(tiny.setup(), [source], tiny.SPLIT_SIZES)
    return next((n["reason"] for n in na if n["changes"] == {"select": "final"}), None)


def test_best_and_final_are_named(tmp_path, monkeypatch):
    src = _run(tmp_path, monkeypatch, [100, 200, 300], 300, {100: 90.0, 200: 40.0, 300: 60.0}, 200)
    assert (src.generators["best"].step, src.generators["final"].step) == (200, 300)
    assert _select_reason(src) is None
    assert selection([src]) == [f"{src.label}: final step 300 vs best step 200"]


def test_one_checkpoint_is_not_applicable(tmp_path, monkeypatch):
    src = _run(tmp_path, monkeypatch, [], 100, {100: 50.0}, 100)
    assert "final" not in src.generators and src.generators["best"].step == 100
    assert _select_reason(src) == f"input '{src.label}': one checkpoint (step 100): best and final cannot be " \
                                  "told apart"


def test_minimum_at_the_last_checkpoint_is_not_applicable(tmp_path, monkeypatch):
    src = _run(tmp_path, monkeypatch, [100, 200], 200, {100: 90.0, 200: 40.0}, 200)
    assert "final" not in src.generators
    assert _select_reason(src).endswith("the minimum-FID checkpoint is the final one (step 200)")


@pytest.mark.parametrize("fids,best", [({100: 50.0, 200: 40.0, 300: 60.0}, 100), ({100: 70.0, 300: 60.0}, 300)])
def test_best_not_kept_is_not_applicable_and_says_what_it_used(tmp_path, monkeypatch, fids, best):
    """The minimum (step 200) was not kept: the plain protocol scores the best kept evaluated checkpoint,
    and select=final is refused naming the missing step and the kept ones."""
    src = _run(tmp_path, monkeypatch, [100, 300], 300, fids, 200)
    assert "final" not in src.generators and src.generators["best"].step == best
    assert _select_reason(src) == (f"input '{src.label}': the minimum-FID checkpoint (step 200) was not kept; best "
                                   f"of the kept evaluated checkpoints (steps 100, 300) is step {best}")


def test_without_last_ckpt_the_latest_step_is_final(tmp_path, monkeypatch):
    src = _run(tmp_path, monkeypatch, [100, 200, 300], 300, {100: 90.0, 200: 40.0, 300: 60.0}, 200)
    (tmp_path / "run-s0" / "checkpoints" / "last.ckpt").unlink()
    src = explain_io.load_source(tmp_path / "run-s0")[0]
    assert src.steps == {"best": 200, "final": 300} and src.select_na is None
