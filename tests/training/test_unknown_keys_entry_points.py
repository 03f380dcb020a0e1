"""A misspelt key is refused by every command that takes Hydra overrides, with or without ``+``, naming
the nearest known keys and the key as it was typed (a '+' is never suggested where none was typed): one
line, exit 2, nothing written (no run folder, no record)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# command -> (its arguments besides the typo, the typo's key, a known key the message must suggest)
CASES = {
    "evaluate": (["samples=x.npz"], "protocl", "protocol"),
    "train": (["trainer=smoke"], "trainer.d_stepz", "trainer.d_steps"),
    "study": (["study=smoke"], "results_dri", "results_dir"),
    "describe": ([], "arch.widht", "arch.width"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("plus", ["", "+"], ids=["plain", "plus"])
@pytest.mark.parametrize("command", sorted(CASES))
def test_a_misspelt_key_is_refused_with_the_nearest_names(command, plus, tmp_path):
    args, key, near = CASES[command]
    proc = subprocess.run([sys.executable, "-m", "ganaudit", command, *args, f"{plus}{key}=1"], cwd=tmp_path,
                          env={**os.environ, "GANAUDIT_ROOT": str(tmp_path)}, capture_output=True, text=True,
                          timeout=100)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: unknown option '{key}'")
    assert near in proc.stderr.split("known options nearby:")[1]
    # the hint repeats what was typed: '+' only where the user wrote one
    typed = f"(added with '+{key}=...')" if plus else f"(set with '{key}=...'; a '+' would not make it read)"
    assert typed in proc.stderr and (plus or f"'+{key}" not in proc.stderr), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run folder, no .hydra/, no record
