"""The layout's promises: a pure call flow, no `queue` shadowing, nothing read from ../shared."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CALLFLOWS = {
    "flask",
    "sqlalchemy",
    "redis",
    "rq",
    "twilio",
    "werkzeug",
    "psycopg",
    "ivr",
    "models",
    "queues",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_callflows_imports_nothing_from_flask_sqlalchemy_redis_or_twilio() -> None:
    files = list((ROOT / "callflows").rglob("*.py"))
    assert len(files) >= 5
    for path in files:
        assert not imported_modules(path) & FORBIDDEN_IN_CALLFLOWS, path


def test_no_top_level_queue_package_and_alembic_is_not_a_package() -> None:
    assert not (ROOT / "queue").exists()
    assert (ROOT / "queues" / "__init__.py").exists()
    assert not (ROOT / "alembic" / "__init__.py").exists()


def test_nothing_reads_the_shared_folder_at_run_or_test_time() -> None:
    for folder in ("callflows", "ivr", "queues", "models", "tests", "scripts", "alembic"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".sh", ".toml") and path != Path(__file__):
                assert "../shared" not in path.read_text(), path
