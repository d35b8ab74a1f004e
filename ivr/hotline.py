"""The hotline's long-lived parts (database, Redis, caches), built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callflows.ballots import Ballot, load_ballot
from ivr.callstore import CallStore
from ivr.directory import PrecinctDirectory
from ivr.settings import Settings
from models import make_engine, make_session_factory

REDIS_TIMEOUT_SECONDS = 2.0
"""A webhook must answer within Twilio's 15 s even when Redis hangs."""


@dataclass
class Hotline:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis
    store: CallStore
    directory: PrecinctDirectory
    ballot: Ballot

    @classmethod
    def from_settings(cls, settings: Settings) -> Hotline:
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            store=CallStore(redis, settings.call_state_ttl_seconds),
            directory=PrecinctDirectory(sessions, settings.precinct_cache_seconds),
            ballot=load_ballot(settings.ballot),
        )


def current_hotline() -> Hotline:
    hotline: Hotline = current_app.extensions["hotline"]
    return hotline
