"""Alembic environment: migrates the database named by the hotline's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from models import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    # `hotline db upgrade` hands over an open connection; the alembic command line passes a URL.
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from ivr.settings import Settings

        url = Settings.from_env().database_url
    with make_engine(url).connect() as conn:
        _run(conn)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `hotline db upgrade`")
run_migrations_online()
