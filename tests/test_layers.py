"""The dependency rule: imports run one way, top to bottom, with no cycle between packages or between files.

Every module of ``daml_cli`` is parsed with ``ast`` (imports inside functions count too, since a lazy import is
still a dependency) and each import between two packages is checked against the layer order of the
architecture: CLI, then inference/serve/export, then train, then data/models/losses/report, then
metrics/index/config, then the single modules errors and atomic. Inside a package, where the layer order says
nothing, the file-level import graph must still be acyclic.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Mapping, Set
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "daml_cli"

# Higher number = higher layer; an import may only go to a strictly lower layer or stay inside its package.
LAYER = {
    "__main__": 7,
    "cli": 6,
    "api": 6,  # the Python API: the same engine calls as the commands, beside the CLI
    "demo": 5,
    "inference": 5,
    "serve": 5,
    "export": 5,
    "compare": 5,
    "train": 4,
    "data": 3,
    "models": 3,
    "losses": 3,
    "report": 3,
    "metrics": 2,
    "index": 2,
    "embeddings": 2,
    "config": 2,
    "errors": 1,
    "atomic": 1,
    "safety": 1,  # regular-file, output-path, lock and terminal checks: used from every layer, needs only errors
    "__init__": 0,
}


def _module_name(path: Path) -> str:
    """Dotted module name of a file under the package root."""
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every ``daml_cli`` module that a file imports, at any depth of the code."""
    return imports_of(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def imports_of(source: str, module: str, is_package: bool) -> set[str]:
    """The ``daml_cli`` modules that `source`, the code of `module`, imports (relative imports resolved)."""
    tree = ast.parse(source)
    own = module.split(".")
    package = own if is_package else own[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module_name = ".".join(base + ([node.module] if node.module else []))
            else:
                module_name = node.module or ""
            found.add(module_name)
            found.update(f"{module_name}.{alias.name}" for alias in node.names)
    return {_existing_module(name) for name in found if name == "daml_cli" or name.startswith("daml_cli.")}


def _existing_module(name: str) -> str:
    """The longest prefix of a dotted name that is a module or package (``from x import y`` may name a value)."""
    parts = name.split(".")
    while len(parts) > 1:
        candidate = PACKAGE_ROOT.parent.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts = parts[:-1]
    return "daml_cli"


def _top(module: str) -> str:
    """The first-level part of ``daml_cli`` that a module belongs to (a package or a single module)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def package_edges() -> dict[tuple[str, str], list[str]]:
    """Map (importing part, imported part) to the files where that import happens."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        source = _top(_module_name(path))
        for target_module in _imports(path):
            target = _top(target_module)
            if target != source and target != "__init__":
                edges.setdefault((source, target), []).append(str(path.relative_to(PACKAGE_ROOT)))
    return edges


def file_graph() -> dict[str, set[str]]:
    """Map each ``daml_cli`` file (path relative to the package root) to the files it imports."""
    files = {_module_name(path): str(path.relative_to(PACKAGE_ROOT)) for path in sorted(PACKAGE_ROOT.rglob("*.py"))}
    return {
        files[_module_name(path)]: {files[name] for name in _imports(path) if name in files} - {files[_module_name(path)]}
        for path in sorted(PACKAGE_ROOT.rglob("*.py"))
    }


def cycles_of(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The shortest import cycle through every node that lies on one, each as [a, b, ..., a], without repeats.

    A node lies on a cycle when some path leads from it back to itself; a breadth-first search from each node
    finds the shortest such path. A cycle is written from its smallest node, so rotations of one are one entry.
    """
    found: set[tuple[str, ...]] = set()
    for start in graph:
        parent: dict[str, str] = {}
        queue = deque([start])
        while queue and start not in parent:
            node = queue.popleft()
            for nxt in sorted(graph.get(node, ())):
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if start in parent:
            loop = [start]
            while len(loop) == 1 or loop[-1] != start:
                loop.append(parent[loop[-1]])
            loop = loop[::-1][:-1]  # start, ..., last node before start
            first = loop.index(min(loop))
            found.add(tuple(loop[first:] + loop[:first]))
    return [[*loop, loop[0]] for loop in sorted(found)]


def test_every_top_level_part_has_a_layer() -> None:
    parts = {_top(_module_name(path)) for path in PACKAGE_ROOT.rglob("*.py")}
    assert parts - set(LAYER) == set()


def test_no_import_runs_upwards() -> None:
    wrong = {
        f"{source} -> {target} in {sorted(set(files))}"
        for (source, target), files in package_edges().items()
        if LAYER.get(source, 99) < LAYER.get(target, 99)
    }
    assert wrong == set()


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for source, target in package_edges():
        graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cyclic = sorted(node for node in graph if reaches(node, node, {node}))
    assert cyclic == []


def test_no_cycle_between_files() -> None:
    # Lazy imports count: a cycle hidden inside a function still ties the two files into one unit.
    cycles = [" -> ".join(loop) for loop in cycles_of(file_graph())]
    assert cycles == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"c": {"a"}, "a": {"b"}, "b": {"c"}, "d": {"a"}}, [["a", "b", "c", "a"]]),
        ({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}, [["a", "b", "a"], ["a", "c", "a"]]),
    ],
)
def test_cycle_finder_reports_each_cycle(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles_of(graph) == expected


def test_cli_modules_do_not_import_the_app_they_are_registered_on() -> None:
    offenders = [
        path.name
        for path in sorted((PACKAGE_ROOT / "cli").glob("*.py"))
        if path.name not in {"app.py", "main.py", "commands.py", "__init__.py"}
        and "daml_cli.cli.app" in _imports(path)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..errors import DamlError\n", {"daml_cli.errors"}),
        ("def f():\n    import daml_cli.train.loop\n", {"daml_cli.train.loop"}),
    ],
)
def test_import_parser_sees_relative_and_lazy_imports(source: str, expected: set[str]) -> None:
    assert imports_of(source, "daml_cli.data.probe", is_package=False) == expected


def test_training_and_inference_do_not_reach_into_the_preparers() -> None:
    # Preparers turn archives into datasets; what a run needs from a prepared dataset lives in data/ itself.
    offenders = [
        str(path.relative_to(PACKAGE_ROOT))
        for package in ("train", "inference", "models", "losses", "metrics", "index", "embeddings", "report")
        for path in sorted((PACKAGE_ROOT / package).rglob("*.py"))
        if any(name.startswith("daml_cli.data.preparers") for name in _imports(path))
    ]
    assert offenders == []
