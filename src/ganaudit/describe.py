"""``python -m ganaudit.describe``: the same as ``ganaudit describe`` (ganaudit.cli.describe)."""

if __name__ == "__main__":
    from ganaudit.cli.main import run_module

    run_module("describe")
