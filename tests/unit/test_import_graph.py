"""The layers, checked from the source: no import cycle, and core imports no I/O.

The graph is built from ``ast`` (no module is imported), over every import a
module runs, including imports inside functions. Imports under
``if TYPE_CHECKING:`` are left out: they never run, and annotations may point
both ways.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "storage", "bot")
CORE_MAY_NOT_IMPORT = ("telegram", "aiosqlite", "sqlite3", "redis", "lupa", "aiohttp", "bot", "storage")
# Every module of bot/ imports ``BotContext`` from the composition root, which
# imports them back: the cycles through bot.app stay until BotContext moves to
# a module of its own (issue 10, second wave). Any other cycle fails.
COMPOSITION_ROOT = "bot.app"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, here: str, is_package: bool) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            yield from (n for child in node.orelse for n in _imports(child, here, is_package))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            yield prefix
            yield from (f"{prefix}.{alias.name}" for alias in node.names)
        # importlib.import_module("bot.handlers.x") hides an edge: count it too.
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value
        yield from _imports(node, here, is_package)


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between project modules, every imported name per module)."""
    modules = project_modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    external: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for target in _imports(tree, name, path.name == "__init__.py"):
            external[name].add(target)
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    return edges, external


def _literal_module_lists(path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules
    }


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def full_graph() -> dict[str, set[str]]:
    """The import graph, plus module names written as strings (loaded by importlib)."""
    modules = project_modules()
    edges, _ = import_graph()
    for name, path in modules.items():
        edges[name] |= _literal_module_lists(path, modules) - {name}
    return edges


def test_the_graph_sees_the_layers() -> None:
    edges = full_graph()
    assert "core.money" in edges["core.errors"] or "core.amount" in edges["core.errors"]
    assert {"storage.sqlite.store", "storage.stores"} & edges["bot.engine"]


def test_core_and_storage_have_no_import_cycle() -> None:
    found = [c for c in cycles(full_graph()) if not all(m.startswith("bot") for m in c)]
    assert found == [], [sorted(c) for c in found]


def test_the_bot_has_no_cycle_but_through_the_composition_root() -> None:
    edges = {
        source: targets - {COMPOSITION_ROOT}
        for source, targets in full_graph().items()
        if source != COMPOSITION_ROOT
    }
    assert [sorted(c) for c in cycles(edges)] == []


def test_arrows_point_inward() -> None:
    edges, _ = import_graph()
    outward = sorted(
        (source, target)
        for source, targets in edges.items()
        for target in targets
        if (source.startswith("core") and not target.startswith("core"))
        or (source.startswith("storage") and target.startswith("bot"))
    )
    assert outward == []


def test_core_imports_no_io_library() -> None:
    _, imported = import_graph()
    offending = sorted(
        (module, name)
        for module, names in imported.items()
        if module.startswith("core")
        for name in names
        if name.split(".")[0] in CORE_MAY_NOT_IMPORT
    )
    assert offending == []


# Names each module owns; importing them from anywhere else is an old path.
OWNED_ELSEWHERE = {
    "core.money": {"Cents", "Amount", "CENTS_PER_UNIT"},  # core.amount
    "storage.sqlite.drafts": {"Draft", "DraftStatus"},  # core.drafts
    "storage.sqlite.chats": {"ChatRules"},  # core.chats
}


def test_names_are_imported_from_their_own_module() -> None:
    old_paths = sorted(
        (str(path.relative_to(ROOT)), node.module, alias.name)
        for path in project_modules().values()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module in OWNED_ELSEWHERE
        for alias in node.names
        if alias.name in OWNED_ELSEWHERE[node.module] and path.stem != node.module.split(".")[-1]
    )
    assert old_paths == []
