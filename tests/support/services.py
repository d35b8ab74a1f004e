"""Real Redis and PostgreSQL servers for the test suite.

The code lives in `flood.servers`, which `hotline flood --start-stack` uses too, so the
suite and the load tester start their servers the same way (one copy).
"""

from __future__ import annotations

from flood.servers import (
    LOCAL_POSTGRES_URLS,
    RedisServer,
    free_port,
    fresh_postgres_database,
    postgres_admin_url,
    redis_server_binary,
    wait_for_port,
)

# tests/support/live.py imports it under its old, private name.
_wait_for_port = wait_for_port

__all__ = [
    "LOCAL_POSTGRES_URLS",
    "RedisServer",
    "_wait_for_port",
    "free_port",
    "fresh_postgres_database",
    "postgres_admin_url",
    "redis_server_binary",
    "wait_for_port",
]
