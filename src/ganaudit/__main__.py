"""``python -m ganaudit <subcommand> ...``: the same as the ``ganaudit`` console script."""
from ganaudit.cli.main import run_module

run_module("")
