"""``python -m ganaudit.determinism``: entry point only; the module is :mod:`ganaudit.utils.determinism`."""

if __name__ == "__main__":
    from ganaudit.utils.determinism import main

    raise SystemExit(main())
