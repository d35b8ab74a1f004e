"""The layout's promises, checked against every module's imports.

- `callflows/` is pure: it imports no I/O library and nothing of the hotline's other rooms.
- `queues/` never imports `ivr/` (the web app sits on top of the queue, not beside it).
- the webhook and staff code never import the tools (`flood/`, `softphone/`); the tools use
  the hotline only through its public operations and HTTP.
- nothing reads `flask.request` outside the route modules.
- no import cycles among the project's modules.
- no top-level `queue` package (it would shadow the standard library's), no package named
  `alembic` (it would hide the Alembic library), and nothing reads ../shared.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("callflows", "ivr", "queues", "models", "flood", "softphone")
IO_LIBRARIES = {"flask", "sqlalchemy", "redis", "rq", "twilio", "werkzeug", "psycopg", "requests"}
TOOLS = {"flood", "softphone"}
ROUTE_MODULES = {
    "ivr.voice.routes",
    "ivr.staff.access",  # the staff blueprints' login guard
    "ivr.staff.auth",
    "ivr.staff.mode_views",
    "ivr.staff.ops",
    "ivr.staff.outbound_views",
    "ivr.staff.overview",
    "ivr.staff.precincts",
    "ivr.staff.public",
    "ivr.staff.readiness_views",
    "ivr.staff.results_views",
    "ivr.staff.review_views",
    "ivr.staff.worksheet_entry_views",
    "ivr.staff.worksheet_views",
}
"""The modules that define routes (or the guard every staff route runs): the only ones
that may read `flask.request`."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:  # Alembic's scripts are loaded by path
                modules[module_name(path)] = path
    return modules


def imports_of(path: Path, name: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every module `path` imports (absolute, resolved), with the names taken from it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, tuple(alias.name for alias in node.names)


def top_level_imports(path: Path) -> set[str]:
    return {module.split(".")[0] for module, _ in imports_of(path, module_name(path))}


def project_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for module, names in imports_of(path, name):
            submodules = {f"{module}.{n}" for n in names} & set(modules)
            edges |= submodules
            # `from package import module` needs the module, not the rest of the package.
            if module in modules and len(submodules) < max(len(names), 1):
                edges.add(module)
        graph[name] = edges - {name}
    return graph


def test_there_are_modules_to_check() -> None:
    modules = project_modules()
    assert len(modules) > 80
    assert {"ivr.voice.routes", "queues.screening", "flood.personas"} <= set(modules)


def test_callflows_imports_no_io_library_and_nothing_else_of_the_hotline() -> None:
    files = list((ROOT / "callflows").rglob("*.py"))
    assert len(files) >= 5
    for path in files:
        found = top_level_imports(path)
        assert not found & (IO_LIBRARIES | {"ivr", "models", "queues", *TOOLS}), path


def test_queues_never_imports_ivr() -> None:
    for path in (ROOT / "queues").rglob("*.py"):
        assert not top_level_imports(path) & {"ivr", *TOOLS}, path


def test_the_webhook_and_staff_code_never_import_the_tools() -> None:
    running = [*(ROOT / "ivr" / "voice").rglob("*.py"), *(ROOT / "ivr" / "staff").rglob("*.py")]
    running += [ROOT / "ivr" / name for name in ("__init__.py", "hotline.py", "wsgi.py")]
    for path in running:
        if path.exists():
            assert not top_level_imports(path) & TOOLS, path


def test_nothing_reads_flask_request_outside_the_route_modules() -> None:
    for name, path in project_modules().items():
        if name in ROUTE_MODULES:
            continue
        for module, names in imports_of(path, name):
            assert not (module == "flask" and "request" in names), name
            assert module != "flask.globals", name


def test_the_route_modules_exist() -> None:
    assert set(project_modules()) >= ROUTE_MODULES


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of `graph` as the modules along it, or None."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, nxt])):
                return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [node])):
            return cycle
    return None


def test_there_are_no_import_cycles() -> None:
    cycle = find_cycle(project_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_edges_and_cycles() -> None:
    # The check above would pass on any graph if `project_graph` missed edges.
    graph = project_graph()
    assert "ivr.operations" in graph["flood.prepare"]
    assert "flood.command" in graph["ivr.cli"]
    assert "ivr.voice.calls" in graph["ivr.voice.routes"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_top_level_queue_package_and_alembic_is_not_a_package() -> None:
    assert not (ROOT / "queue").exists()
    assert (ROOT / "queues" / "__init__.py").exists()
    assert not (ROOT / "alembic" / "__init__.py").exists()
    assert (ROOT / "models" / "migrations" / "env.py").exists()


def test_nothing_reads_the_shared_folder_at_run_or_test_time() -> None:
    for folder in (*PACKAGES, "tests", "scripts", "alembic"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".sh", ".toml") and path != Path(__file__):
                assert "../shared" not in path.read_text(), path
