"""``python -m ganaudit.train``: entry point only; the command is :mod:`ganaudit.training.train`."""

if __name__ == "__main__":  # determinism=portable pins kernel choices that torch reads at import
    from ganaudit.utils.determinism import reexec_for_mode

    reexec_for_mode("config")

    from ganaudit.training.train import main
    from ganaudit.utils.exits import hydra_cli

    hydra_cli(main, "config")
