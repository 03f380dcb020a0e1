"""``python -m ganaudit.describe``: entry point only; the command is :mod:`ganaudit.cli.describe`."""

if __name__ == "__main__":
    from ganaudit.cli.describe import main

    raise SystemExit(main())
