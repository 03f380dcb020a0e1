"""``python -m ganaudit.audit ...``: the same as ``ganaudit audit ...`` (ganaudit.cli.audit)."""
from ganaudit.cli.main import run_module

run_module("audit")
