"""``python -m ganaudit.evaluate``: entry point only; the command is :mod:`ganaudit.metrics.evaluate`."""

if __name__ == "__main__":  # determinism=portable pins kernel choices that torch reads at import
    from ganaudit.utils.determinism import reexec_for_mode

    reexec_for_mode("evaluate")

    from ganaudit.metrics.evaluate import main

    raise SystemExit(main())
