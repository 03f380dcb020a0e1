"""``python -m ganaudit.train``: the same as ``ganaudit train`` (ganaudit.cli.train)."""

if __name__ == "__main__":
    from ganaudit.cli.main import run_module

    run_module("train")
