"""ganaudit.utils.signals: a signal raises Interrupted (exit 128 + signum), is deferred to a safe point
on request (a second one is not), and the previous handlers come back."""

import os
import signal

import pytest

from ganaudit.utils.errors import ConfigError, Interrupted
from ganaudit.utils.exits import run_cli
from ganaudit.utils.signals import deferred, interruptible, pending, raise_pending


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_raises_interrupted_with_its_exit_code(sig, code):
    before = signal.getsignal(sig)
    with pytest.raises(Interrupted) as err, interruptible():
        os.kill(os.getpid(), sig)
    assert err.value.signum == sig and err.value.exit_code == code and err.value.signame == signal.Signals(sig).name
    assert signal.getsignal(sig) is before


def test_deferred_notes_the_first_signal_and_raises_the_second():
    with interruptible():
        with deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert pending() == signal.SIGTERM  # noted, not raised
            with pytest.raises(Interrupted) as err:
                os.kill(os.getpid(), signal.SIGINT)  # the user insists
            assert err.value.signum == signal.SIGINT
        with pytest.raises(Interrupted) as err:
            raise_pending()
        assert err.value.signum == signal.SIGTERM


def test_run_cli_reports_one_line_and_returns_128_plus_signum(capsys):
    def body():
        os.kill(os.getpid(), signal.SIGTERM)

    assert run_cli(body) == 143
    assert capsys.readouterr().err == "interrupted: stopped by SIGTERM\n"


def test_run_cli_calls_on_refused_before_reporting_a_refusal_only(capsys):
    calls = []

    def refuse():
        raise ConfigError("option 'x' = 1: expected 2")

    def interrupted():
        raise Interrupted(signal.SIGTERM, "stopped")

    def on_refused():
        calls.append(capsys.readouterr().err)  # what was reported by then

    assert run_cli(refuse, on_refused=on_refused) == 2 and calls == [""]  # before the error line
    assert capsys.readouterr().err == "error: option 'x' = 1: expected 2\n"
    assert run_cli(interrupted, on_refused=on_refused) == 143 and len(calls) == 1  # kept what it did
    assert run_cli(lambda: 3, on_refused=on_refused) == 3 and run_cli(lambda: None, on_refused=on_refused) == 0
    assert len(calls) == 1
