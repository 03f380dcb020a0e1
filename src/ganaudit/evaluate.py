"""``python -m ganaudit.evaluate``: the same as ``ganaudit evaluate`` (ganaudit.cli.evaluate)."""

if __name__ == "__main__":
    from ganaudit.cli.main import run_module

    run_module("evaluate")
