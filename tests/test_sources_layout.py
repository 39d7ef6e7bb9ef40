"""The sources' layout: the kit plus one package per connector, and no import in a circle."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "pipeline"
CONNECTORS = {"x", "rss", "webhook", "mastodon", "bluesky", "discourse", "replay"}
KIT = {
    "__init__.py", "base.py", "runner.py", "checkpoint.py", "emitter.py", "errors.py", "http.py",
    "html_text.py", "options.py", "registry.py", "scaffold.py", "terms.py", "testing.py",
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports, those under ``if TYPE_CHECKING:`` included."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in modules:
                    found.add(target)  # `from pipeline.simulator import text`: the module
                elif base in modules:
                    found.add(base)
    return found - {me}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PIPELINE.rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, modules) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each one a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("area", ["pipeline.sources", "pipeline.simulator"])
def test_nothing_imports_in_a_circle(area: str) -> None:
    graph = import_graph()
    assert any(name.startswith(area) for name in graph)
    mine = [c for c in cycles(graph) if any(m == area or m.startswith(area + ".") for m in c)]
    assert mine == []


def test_the_simulator_parts_use_its_public_interface_only() -> None:
    """The attack, forum and signups write through the stage, never its private methods."""
    for part in ("attack.py", "forum.py", "signups.py"):
        tree = ast.parse((PIPELINE / "simulator" / part).read_text("utf-8"))
        private = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")
        }
        assert private == set(), (part, private)


def test_sources_are_the_kit_and_one_package_per_connector() -> None:
    sources = PIPELINE / "sources"
    entries = {p.name for p in sources.iterdir() if p.name != "__pycache__"}
    assert entries == KIT | CONNECTORS
    for name in CONNECTORS:
        package = sources / name
        assert package.is_dir() and (package / "__init__.py").is_file()
        assert (package / "source.py").is_file(), name
        assert (package / "mapping.py").is_file() or (package / "parsing.py").is_file(), name
    for name in ("x", "mastodon", "bluesky", "discourse"):  # the API, apart from the connector
        assert (sources / name / "client.py").is_file(), name
    assert not any((sources / f).exists() for f in ("demo.py", "retry.py", "http_util.py"))


def test_entry_points_follow_the_packages() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    points = project["project"]["entry-points"]["buzz.sources"]
    assert points["demo"] == "pipeline.simulator.source:DemoSource"
    for name in CONNECTORS:
        module, _, cls = points[name].partition(":")
        assert module == f"pipeline.sources.{name}.source" and cls.endswith("Source")
    from pipeline.sources.registry import discover

    found = discover()
    assert {e.name for e in found.values() if e.source is not None} >= CONNECTORS | {"demo"}
