"""Command-line logging: library messages reach the stderr of the moment, through one handler."""

import logging

from ganaudit.utils.log import setup_cli_logging


def test_cli_logging_reaches_the_current_stderr(capsys):
    setup_cli_logging()
    setup_cli_logging()  # idempotent: one handler
    logging.getLogger("ganaudit.some.module").info("wrote %s", "x.json")
    assert capsys.readouterr().err.count("wrote x.json") == 1
