"""No module of the package uses a name it never defines or imports (pyflakes' undefined-name check).

Command-line ``main`` functions are mostly tested in-process with an explicit argv, so a lost
``import sys`` in one of them would only show when a user runs ``python -m ganaudit.<module>``.
"""

from pathlib import Path

import pyflakes.api
import pyflakes.messages
import pyflakes.reporter

import ganaudit

SRC = Path(ganaudit.__file__).resolve().parent


class _Collect(pyflakes.reporter.Reporter):
    def __init__(self) -> None:
        super().__init__(None, None)
        self.found: list[str] = []

    def flake(self, message) -> None:
        if isinstance(message, (pyflakes.messages.UndefinedName, pyflakes.messages.UndefinedLocal)) \
                and "noqa: F821" not in Path(message.filename).read_text().splitlines()[message.lineno - 1]:
            self.found.append(f"{message.filename}:{message.lineno}: {message.message % message.message_args}")

    def syntaxError(self, filename, msg, lineno, offset, text) -> None:
        self.found.append(f"{filename}:{lineno}: syntax error {msg}")

    def unexpectedError(self, filename, msg) -> None:
        self.found.append(f"{filename}: {msg}")


def _undefined(paths) -> list[str]:
    rep = _Collect()
    for path in paths:
        pyflakes.api.checkPath(str(path), rep)
    return rep.found


def test_no_undefined_names_in_the_package():
    assert _undefined(sorted(SRC.rglob("*.py"))) == []


def test_the_check_finds_a_lost_import(tmp_path):
    bad = tmp_path / "mod.py"
    bad.write_text("def main(argv=None):\n    return sys.argv[1:] if argv is None else argv\n")
    found = _undefined([bad])
    assert len(found) == 1 and "undefined name 'sys'" in found[0]
