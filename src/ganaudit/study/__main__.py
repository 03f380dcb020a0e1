"""``python -m ganaudit.study ...``: the same as ``ganaudit study ...`` (ganaudit.cli.study)."""
from ganaudit.cli.main import run_module

run_module("study")
