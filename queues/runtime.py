"""The worker's database: rq imports jobs by dotted path, so they find their session here."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

_sessions: sessionmaker[Session] | None = None


class NotConfigured(RuntimeError):
    """A job ran in a process that was not started by `hotline worker`."""


def configure(sessions: sessionmaker[Session] | None) -> None:
    """Point jobs in this process at a database (`hotline worker` does this at start-up)."""
    global _sessions
    _sessions = sessions


def sessions() -> sessionmaker[Session]:
    if _sessions is None:
        raise NotConfigured("no database configured for jobs; start workers with `hotline worker`")
    return _sessions
