"""The package layout is layered: a module imports only its own layer's package and lower layers, and no import cycle exists.

Read from the source (ast), not by importing: every ``import`` counts, at
module level or inside a function, so a cycle cannot hide in a late import.
docs/architecture.md explains each layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "extractors", "flows")

# Lowest first. A module may import any module of its own package (the
# longest name below that prefixes it) and any package of a lower layer;
# packages side by side in one layer do not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("pipeline", "pipeline.model"),  # ``pipeline`` alone is its __init__: version and repository root
    ("pipeline.reading", "pipeline.text", "pipeline.ingest"),
    ("extractors.grids",),
    ("extractors.text",),
    ("extractors",),  # the registry, the catalogue and the report readers
    ("pipeline.checks",),
    ("pipeline.document",),
    ("pipeline.publish",),
    ("pipeline.runs",),
    ("pipeline.review",),
    ("flows",),  # Prefect flows and, on top, the command line
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Every module of ours ``path`` imports (``from a.b import c`` counts as ``a.b.c`` when that is a module, else ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the modules of ours it imports (names that are not modules are dropped)."""
    files = {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}
    return {name: {m for m in imports_of(path, name) if m in files and m != name} for name, path in files.items()}


def unit_of(module: str, layers: list[tuple[str, ...]] = LAYERS) -> tuple[int, str] | None:
    """(layer index, package) of the longest layer package that holds ``module``."""
    best: tuple[int, str] | None = None
    for index, units in enumerate(layers):
        for unit in units:
            holds = module == unit if unit == "pipeline" else module == unit or module.startswith(unit + ".")
            if holds and (best is None or len(unit) > len(best[1])):
                best = (index, unit)
    return best


def layer_violations(graph: dict[str, set[str]], layers: list[tuple[str, ...]] = LAYERS) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        here = unit_of(module, layers)
        if here is None:
            problems.append(f"{module} belongs to no layer")
            continue
        for target in sorted(targets):
            there = unit_of(target, layers)
            if there is None or there[1] == here[1]:
                continue
            if there[0] >= here[0]:
                problems.append(f"{module} ({here[1]}) imports {target} ({there[1]}), which is not below it")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_a_higher_layer() -> None:
    assert layer_violations(import_graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_see_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    """The checks above can fail: a model module importing the CLI, and two modules importing each other."""
    for file, text in {
        "pipeline/__init__.py": "",
        "pipeline/model/__init__.py": "",
        "pipeline/model/records.py": "def helper():\n    from flows.cli import main\n",
        "pipeline/text/__init__.py": "",
        "pipeline/text/a.py": "from pipeline.text import b\n",
        "pipeline/text/b.py": "from . import a\n",
        "flows/__init__.py": "",
        "flows/cli.py": "import pipeline.model.records\n",
    }.items():
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text(text)
    graph = import_graph(tmp_path)
    assert layer_violations(graph) == ["pipeline.model.records (pipeline.model) imports flows.cli (flows), which is not below it"]
    assert cycles(graph) == [["flows.cli", "pipeline.model.records"], ["pipeline.text.a", "pipeline.text.b"]]


def test_side_by_side_packages_do_not_import_each_other() -> None:
    graph = {"pipeline.reading.pdf": {"pipeline.ingest.fetch"}, "pipeline.ingest.fetch": set()}
    assert layer_violations(graph) == ["pipeline.reading.pdf (pipeline.reading) imports pipeline.ingest.fetch (pipeline.ingest), which is not below it"]


def test_every_module_has_a_layer() -> None:
    assert [m for m in import_graph() if unit_of(m) is None] == []
