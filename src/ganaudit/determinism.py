"""``python -m ganaudit.determinism``: the same as ``ganaudit determinism`` (ganaudit.cli.determinism)."""

if __name__ == "__main__":
    from ganaudit.cli.main import run_module

    run_module("determinism")
