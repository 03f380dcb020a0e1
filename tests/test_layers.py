"""Imports run one way: no cycle between ganaudit's modules, and no module imports from a higher floor.

The import graph is read from the source with ``ast`` (top-level imports and imports deferred into
functions alike), so the test needs no import of ganaudit and sees what a reader sees.

Floors, bottom to top (docs/CONTRACTS.md, "Layers"): utils < axes < data < metrics < training < study
< audit < cli. The top-level entry shims (``ganaudit.train``, ``evaluate``, ``describe``,
``determinism``) and every ``__main__`` module count as cli; the package itself (``ganaudit/__init__``,
its version) sits at the bottom. Imports inside an ``if __name__ == "__main__":`` block run only when the
module is the program (``python -m ganaudit.metrics.refstats``, a path dvc.yaml names): that block is
a command-line shim and may import the cli.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ganaudit"
FLOORS = ("utils", "axes", "data", "metrics", "training", "study", "audit", "cli")
SHIMS = {"ganaudit.train", "ganaudit.evaluate", "ganaudit.describe", "ganaudit.determinism"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def floor(module: str) -> int:
    """The floor index of a ganaudit module (cli for the shims and every ``__main__``)."""
    parts = module.split(".")
    if module == "ganaudit":
        return 0
    if module in SHIMS or parts[-1] == "__main__":
        return FLOORS.index("cli")
    return FLOORS.index(parts[1])


def _is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``"""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def import_nodes(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of a module, top-level or deferred, outside ``if __name__ == "__main__":``."""
    found, todo = [], [n for n in tree.body if not _is_main_block(n)]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The ganaudit modules that ``path`` (module ``name``) imports, anywhere in the file but a main block."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from pkg import mod" imports the submodule pkg.mod when it exists
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # "import ganaudit.x.y" also names ganaudit.x.y's package
                target = target.rpartition(".")[0]
            if target.startswith("ganaudit") and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imported(path, name, known) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of the directed graph, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_graph_reads_imports():
    """The reader finds known edges (so an empty graph cannot pass the tests below)."""
    g = graph()
    assert "ganaudit.utils.errors" in g["ganaudit.utils.exits"]
    assert "ganaudit.cli.main" in g["ganaudit.__main__"]
    assert floor("ganaudit.train") == floor("ganaudit.cli.main") == floor("ganaudit.data.__main__") == len(FLOORS) - 1
    assert floor("ganaudit.utils.errors") == floor("ganaudit") == 0
    assert "ganaudit.cli.main" not in g["ganaudit.metrics.refstats"]  # its `python -m` block is a shim


def test_deferred_imports_are_read():
    tree = ast.parse("import a\ndef f():\n    from b import c\nif __name__ == '__main__':\n    import d\n")
    assert sorted(n.names[0].name if isinstance(n, ast.Import) else n.module for n in import_nodes(tree)) == ["a", "b"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_go_down_the_floors():
    climbs = [f"{src} ({FLOORS[floor(src)]}) imports {dst} ({FLOORS[floor(dst)]})"
              for src, dsts in sorted(graph().items()) for dst in sorted(dsts)
              if floor(dst) > floor(src)]
    assert not climbs, "imports from a higher floor:\n" + "\n".join(climbs)


@pytest.mark.parametrize("module", sorted(modules()))
def test_every_module_has_a_floor(module):
    assert 0 <= floor(module) < len(FLOORS)
