"""The house rules, checked on the source: rooms, import direction, no cycles, engine seams that hold.

docs/architecture.md draws the rooms; these tests keep the drawing true. Imports are read from
the syntax tree, including imports inside functions (a function-level import is still a
dependency, and hiding a cycle in one is what this forbids).
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "deployer"
TOOLS = ROOT / "tools"

# room -> the rooms it may import from (besides itself and the package root's __init__)
ALLOWED = {
    "source": set(),
    "engines": {"source"},
    "target": {"source", "engines"},
    "report": {"source", "engines", "target"},
    "client": {"engines"},
    "local": set(),
    "package": {"source", "engines"},  # deployer/package.py joins the source with the dialects
    "cli": {"source", "engines", "target", "report", "client", "local", "package"},
    "__main__": {"cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module of ours `path` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("deployer", "tools")}


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(p): p for p in root.rglob("*.py") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {**_modules(PACKAGE), **_modules(TOOLS)}
    edges = {}
    for name, path in modules.items():
        # `from deployer.x import y` names module deployer.x.y only when that is a module
        edges[name] = {m for m in _imports(path) if m in modules and m != name}
    return edges


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_cycles(graph):
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_rooms_import_only_downwards(graph):
    wrong = []
    for module, imported in graph.items():
        if not module.startswith("deployer."):
            continue
        room = _room(module)
        for target in imported:
            if target == "deployer":
                continue  # the package root: its version
            if not target.startswith("deployer."):
                wrong.append(f"{module} imports {target}: the runtime package may not import tools/")
                continue
            other = _room(target)
            if other in (room, "__init__"):
                continue
            if other not in ALLOWED.get(room, set()):
                wrong.append(f"{module} ({room}) imports {target} ({other})")
    assert not wrong, "\n".join(sorted(wrong))


def _outside_engines() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "engines" not in p.relative_to(PACKAGE).parts[:1]
            and "__pycache__" not in p.parts]


def test_no_driver_connection_outside_the_engine_seams():
    wrong = []
    for path in _outside_engines():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("conn", "cursor"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("psycopg", "pyodbc") for n in names) \
                        and path.relative_to(PACKAGE).parts[0] != "local":
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports a database driver")
    assert not wrong, "\n".join(wrong)


def test_no_engine_name_branches_outside_the_engine_seams():
    """`if engine == "mssql"` belongs in the engine's dialect or seam, not in the pipeline."""
    wrong = []
    for path in _outside_engines():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                literals = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                if any(value in ("mssql", "postgresql") for value in literals):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: compares with an engine name")
    assert not wrong, "\n".join(wrong)


def test_every_module_says_what_it_is_for():
    missing = [str(p.relative_to(ROOT)) for p in [*PACKAGE.rglob("*.py"), *TOOLS.rglob("*.py")]
               if "__pycache__" not in p.parts and p.stat().st_size
               and not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not missing, "modules without a docstring: " + ", ".join(sorted(missing))


def test_the_query_option_is_named_for_what_it_does():
    from deployer.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["query", "--text", "x"]).hybrid == "true"
    assert parser.parse_args(["query", "--text", "x", "--hybrid", "false"]).hybrid == "false"
    assert parser.parse_args(["query", "--text", "x", "--use-spatial", "false"]).hybrid == "false"


def test_target_options_are_declared_once_and_shared():
    from deployer.cli import build_parser

    parser = build_parser()
    for command in ("publish", "plan", "drift", "verify", "ingest-embeddings", "query", "ingest-model",
                    "ingest-models", "export-model"):
        args = parser.parse_args([command, "--target", "postgresql:///x", "--database-name", "D",
                                  *{"ingest-embeddings": ["--input", "f"], "query": ["--text", "t"],
                                    "ingest-model": ["m"], "ingest-models": ["d"],
                                    "export-model": ["1", "--out", "o"]}.get(command, [])])
        assert (args.target, args.database_name) == ("postgresql:///x", "D"), command
    source = Path(__file__).resolve().parents[1] / "deployer" / "cli"
    declared = sum(p.read_text().count('"--database-name"') for p in source.glob("*.py"))
    assert declared == 1


def test_every_engine_of_the_catalog_has_a_dialect():
    from deployer.engines import DIALECTS
    from deployer.source.catalog import ENGINES

    assert tuple(DIALECTS) == ENGINES
    assert all(dialect.name == name for name, dialect in DIALECTS.items())
