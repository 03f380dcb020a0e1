"""Library code logs; only command-line entry points print (a ``__main__`` module or a ``main``)."""

import ast
from pathlib import Path

import ganaudit

SRC = Path(ganaudit.__file__).resolve().parent


def _prints_outside_main(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node: ast.AST, in_main: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_main or (isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == "main")
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "print" \
                    and not inside:
                found.append(f"{path.relative_to(root)}:{child.lineno}")
            visit(child, inside)

    visit(tree, path.name == "__main__.py")
    return found


# The command-line layer (as ruff's T20 per-file ignores in pyproject.toml): it prints what commands report.
CLI_LAYER = SRC / "cli"


def test_library_modules_do_not_print():
    library = [p for p in sorted(SRC.rglob("*.py")) if CLI_LAYER not in p.parents]
    offenders = [hit for p in library for hit in _prints_outside_main(p)]
    assert offenders == [], f"print() outside a command-line main (use logging): {offenders}"


def test_the_check_finds_a_print(tmp_path):
    (tmp_path / "lib.py").write_text("def f():\n    print('x')\n\ndef main():\n    print('ok')\n")
    assert _prints_outside_main(tmp_path / "lib.py", tmp_path) == ["lib.py:2"]


def test_cli_logging_reaches_the_current_stderr(capsys):
    import logging

    from ganaudit.utils.log import setup_cli_logging

    setup_cli_logging()
    setup_cli_logging()  # idempotent: one handler
    logging.getLogger("ganaudit.some.module").info("wrote %s", "x.json")
    assert capsys.readouterr().err.count("wrote x.json") == 1
