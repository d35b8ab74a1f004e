"""Fixtures: a real Redis, real databases (SQLite and PostgreSQL), the app and its clients."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import text

from ivr import create_app
from ivr.hotline import Hotline
from ivr.operations import upgrade_database
from ivr.settings import Settings
from queues import runtime
from tests.support.services import RedisServer, fresh_postgres_database

AUTH_TOKEN = "test-twilio-auth-token"
PUBLIC_BASE_URL = "http://hotline.test"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    if redis_server.process is None:  # a test stopped it and failed before restarting it
        redis_server.start()
    connection = Redis.from_url(redis_server.url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def make_settings(database_url: str, redis_url: str, instance_dir: Path) -> Settings:
    return Settings(
        profile="test",
        database_url=database_url,
        redis_url=redis_url,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        secret_key="test-secret-key",
        pin_key="test-pin-key",
        instance_dir=instance_dir,
        precinct_cache_seconds=0,
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Path:
    """A migrated SQLite file that each test copies (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    app = create_app(make_settings(f"sqlite:///{path}", redis_server.url, path.parent))
    upgrade_database(_hotline(app))
    _hotline(app).engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated PostgreSQL database for the session; tests empty its tables afterwards."""
    with fresh_postgres_database() as url:
        app = create_app(make_settings(url, redis_server.url, tmp_path_factory.mktemp("pg")))
        upgrade_database(_hotline(app))
        _hotline(app).engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that uses the database runs against SQLite and against PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hotline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def app(
    database_url: str, redis: Redis, redis_server: RedisServer, tmp_path: Path
) -> Iterator[Flask]:
    app = create_app(make_settings(database_url, redis_server.url, tmp_path))
    hotline = _hotline(app)
    runtime.configure(hotline.sessions)
    yield app
    runtime.configure(None)
    if hotline.engine.dialect.name == "postgresql":
        with hotline.engine.begin() as conn:
            tables = ", ".join(f'"{name}"' for name in _table_names())
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # As a new database has it (migration 0010): the election's one mode row, which
            # the switch and the outbound caller lock.
            conn.execute(
                text(
                    "INSERT INTO election_mode (id, mode, changed_by, changed_at) "
                    "VALUES (1, 'rehearsal', 'migration 0010', now())"
                )
            )
    hotline.engine.dispose()
    hotline.redis.close()


def _table_names() -> list[str]:
    from models import Base

    return [table.name for table in Base.metadata.sorted_tables]


def _hotline(app: Flask) -> Hotline:
    hotline: Hotline = app.extensions["hotline"]
    return hotline


@pytest.fixture
def hotline(app: Flask) -> Hotline:
    return _hotline(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def live_mode(runner: FlaskCliRunner) -> None:
    """The election switched to live the way an operator does it (`hotline mode live`), for
    tests of what only happens live, such as outbound calls to real chairs' phones."""
    from ivr.cli import cli

    result = runner.invoke(cli, ["mode", "live", "--by", "test"])
    assert result.exit_code == 0, result.output
