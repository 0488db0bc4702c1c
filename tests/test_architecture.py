"""The package's shape, checked: imports go one way, modules stay small.

The graph is read from the source (every ``import`` of a grok_nb module, at module
level or inside a function — a lazy import is still an edge). It must have no cycle,
follow the layers below, and an in-function import of grok_nb's own code must say
why it is lazy in a comment on its line or the line above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "grok_nb"
MAX_LINES = 500

# Lowest first. A module may import modules of its own layer or of layers below.
LAYERS: list[tuple[str, ...]] = [
    ("grok_nb._version", "grok_nb.errors", "grok_nb.redact"),
    ("grok_nb.pricing",),
    ("grok_nb.render",),  # draws values from their plain attributes: imports no value module
    ("grok_nb.tiling",),
    ("grok_nb.settings", "grok_nb.answer", "grok_nb.boxes"),
    ("grok_nb.cache.paths",),
    ("grok_nb.images", "grok_nb.cache", "grok_nb.api", "grok_nb.simulator"),
    ("grok_nb.rules", "grok_nb.ledger", "grok_nb.estimate", "grok_nb.budget"),
    ("grok_nb.batch_journal",),  # the Batch API's local journal (cache.paths only)
    ("grok_nb.preparing",),
    ("grok_nb.calls",),
    ("grok_nb.conversation",),
    ("grok_nb.asking",),
    ("grok_nb.background", "grok_nb.frames"),
    ("grok_nb.batch_upload",),
    ("grok_nb.batch_api",),
    ("grok_nb.batch", "grok_nb.calibration", "grok_nb.grounding"),
    ("grok_nb.notebook", "grok_nb.cli"),
    ("grok_nb",),
]
# Within the wire/storage layer, who may not know whom (the DESIGN's table).
FORBIDDEN: list[tuple[str, str]] = [
    ("grok_nb.images", "grok_nb.api"),
    ("grok_nb.images", "grok_nb.cache"),
    ("grok_nb.cache", "grok_nb.api"),
    ("grok_nb.api", "grok_nb.images"),  # the client never touches Pillow
    ("grok_nb.simulator", "grok_nb.api"),  # they meet only on the wire
    ("grok_nb.simulator", "grok_nb.cache"),
    ("grok_nb.simulator", "grok_nb.images"),
]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    lazy: bool
    commented: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, here: str, is_pkg: bool, known: set[str]):
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = here.split(".") if is_pkg else here.split(".")[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        name = ".".join([*base, node.module] if node.module else base)
    else:
        name = node.module or ""
    return [f"{name}.{a.name}" if f"{name}.{a.name}" in known else name for a in node.names]


def _edges_of(name: str, path: Path, known: set[str]) -> list[Edge]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    is_pkg = path.name == "__init__.py"
    found: list[Edge] = []
    pending: list[tuple[ast.AST, bool]] = [(ast.parse(text), False)]
    while pending:
        node, lazy = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only: no import at run time
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(child, name, is_pkg, known):
                    if target.split(".")[0] == "grok_nb" and target != name:
                        n = child.lineno
                        near = lines[n - 1] + (lines[n - 2] if n > 1 else "")
                        found.append(Edge(name, target, n, inner, "#" in near))
            pending.append((child, inner))
    return found


def edges() -> list[Edge]:
    known = set(modules())
    return [e for name, path in modules().items() for e in _edges_of(name, path, known)]


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    return out


def test_the_import_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for e in edges():
        if e.source != "grok_nb":  # the index lazily names everything; nothing imports it
            graph[e.source].add(e.target)
    assert cycles(graph) == []


def test_every_module_sits_in_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) < 0] == []


def test_imports_only_go_down_the_layers() -> None:
    upward = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges()
        if layer_of(e.target) > layer_of(e.source)
    ]
    assert upward == []


@pytest.mark.parametrize(("lower", "upper"), FORBIDDEN)
def test_forbidden_neighbours_do_not_meet(lower: str, upper: str) -> None:
    def inside(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    bad = [
        f"{e.source}:{e.line}"
        for e in edges()
        if inside(e.source, lower) and inside(e.target, upper)
    ]
    assert bad == []


def test_lazy_imports_of_our_own_modules_say_why() -> None:
    silent = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges()
        if e.lazy and not e.commented and e.source != "grok_nb"
    ]
    assert silent == []


def test_every_module_is_under_the_line_limit_and_says_why_it_exists() -> None:
    too_long = {}
    undocumented = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) >= MAX_LINES:
            too_long[name] = len(text.splitlines())
        if text.strip() and ast.get_docstring(ast.parse(text)) is None:
            undocumented.append(name)
    assert too_long == {}
    assert undocumented == []


def test_the_graph_reader_sees_real_edges() -> None:
    # guard against a checker that passes because it reads nothing
    found = {(e.source, e.target) for e in edges()}
    assert ("grok_nb.asking", "grok_nb.rules") in found
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert layer_of("grok_nb.api.client") == layer_of("grok_nb.cache.db")
    assert layer_of("grok_nb.cache.paths") < layer_of("grok_nb.cache.db")
