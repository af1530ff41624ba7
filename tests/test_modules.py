"""The project's modules import one way: no import cycle among pipeline/*.py (and utils.py), counting the imports
made inside functions too, and each module imports alone in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = {f"pipeline.{path.stem}": path for path in sorted((ROOT / "pipeline").glob("*.py"))
           if path.stem != "__init__"} | {"utils": ROOT / "utils.py"}


def project_imports(path: Path) -> set[str]:
    """The project modules ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # from pipeline import data
    return found & set(MODULES)


GRAPH = {name: project_imports(path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports) as a path back to its start, or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        for imported in sorted(graph[name]):
            cycle = visit(imported, path + [name])
            if cycle:
                return cycle
        done.add(name)
        return None

    return next((cycle for name in sorted(graph) if (cycle := visit(name, []))), None)


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_a_cycle_is_found():
    """The check itself: data and precision importing each other (as they once did) is a cycle."""
    graph = {**GRAPH, "pipeline.precision": GRAPH["pipeline.precision"] | {"pipeline.data"},
             "pipeline.data": GRAPH["pipeline.data"] | {"pipeline.precision"}}
    cycle = find_cycle(graph)
    assert cycle[0] == cycle[-1] and sorted(cycle[1:]) == ["pipeline.data", "pipeline.precision"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_alone(name):
    result = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
