"""``python -m ganaudit.data ...``: the same as ``ganaudit data ...`` (ganaudit.cli.data)."""
from ganaudit.cli.main import run_module

run_module("data")
