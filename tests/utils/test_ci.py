"""CI runs what the README says: its test command last and verbatim, lint before any test."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_test_command_is_the_last_line_of_ci():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    test_commands = [line for block in blocks for line in _commands(block)
                     if re.search(r"python3 -m pytest( -n \d+)?$", line)]
    assert len(test_commands) == 1, test_commands
    assert _commands(CI)[-1] == test_commands[0]


def test_ci_lints_before_it_tests_and_times_its_steps():
    lines = _commands(CI)
    ruff = next(i for i, line in enumerate(lines) if "-m ruff check ." in line)
    install = next(i for i, line in enumerate(lines) if 'pip install -e ".[test]"' in line)
    first_pytest = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert install < ruff < first_pytest
    assert any('-m "slow and not gpu' in line and line.startswith("timed ") for line in lines)
    assert all(line.startswith(("timed ", "python3 -m pip install torch")) for line in lines if "-m pytest" in line)
