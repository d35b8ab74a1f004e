"""The election's mode — rehearsal, opening (the switch's drain) or live — as every web node
and worker sees it.

The mode is kept in the database (`models.ElectionMode`, one row, with who changed it and
when) and mirrored in one Redis key that each web request reads with a single GET. When the
key is missing (Redis restarted, or was emptied) it is reloaded from the database, so a
Redis restart can never flip the mode. Code that writes rehearsal-marked rows reads the row
itself inside its own transaction (`stored`), with a share lock: the switch to live takes
that row's lock before it archives, so no row can be written with a stale mode meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import AuditEvent, ElectionMode, Mode
from queues import keys

ROW_ID = 1
"""The one row of `election_mode`."""
DEFAULT = Mode.REHEARSAL
"""With no row (a new or emptied database) the hotline counts nothing until zeroed."""


def current(redis: Redis, sessions: sessionmaker[Session]) -> Mode:
    """The mode now: one GET, or the database's row (mirrored back) when the key is missing."""
    raw = redis.get(keys.ELECTION_MODE)
    if raw is not None:
        try:
            return Mode(raw.decode() if isinstance(raw, bytes) else str(raw))
        except ValueError:
            pass  # not ours: the database says
    with sessions() as session:
        mode = stored(session)
    # NX: a switch that changed the key meanwhile wins over this older read.
    redis.set(keys.ELECTION_MODE, mode.value, nx=True)
    return mode


def holding_new_calls(redis: Redis, sessions: sessionmaker[Session]) -> bool:
    """Whether a new call must hold because the hotline is opening. A switch under way keeps
    its note in Redis (`keys.GO_LIVE`); without one, `opening` in Redis may be stale (a
    Redis restored from a snapshot taken mid-switch), so the database decides, and every
    node is told. A switch that died mid-drain is `opening` in the database too: calls hold
    until staff resume it."""
    if current(redis, sessions) is not Mode.OPENING:
        return False
    if redis.exists(keys.GO_LIVE):
        return True
    with sessions() as session:
        mode = stored(session)
    mirror(redis, mode)
    return mode is Mode.OPENING


def stored(session: Session, *, share_lock: bool = False, lock: bool = False) -> Mode:
    """The mode in the database, read in `session`'s transaction; with `share_lock` the row
    stays as read until the transaction ends (writers of rehearsal-marked rows), with `lock`
    nobody else may read it so (the switch)."""
    query = select(ElectionMode).where(ElectionMode.id == ROW_ID)
    if lock:
        query = query.with_for_update()
    elif share_lock:
        query = query.with_for_update(read=True)
    row = session.scalars(query).one_or_none()
    return DEFAULT if row is None else Mode(row.mode)


def is_rehearsal(mode: Mode) -> bool:
    """Whether what is recorded in `mode` belongs to the rehearsal (opening drains it)."""
    return mode is not Mode.LIVE


def record(session: Session, mode: Mode, by: str, note: str = "") -> None:
    """Write `mode` to the database row, audited; the caller commits, then `mirror`s."""
    row = session.get(ElectionMode, ROW_ID, with_for_update=True)
    before = DEFAULT if row is None else Mode(row.mode)
    if row is None:
        row = ElectionMode(id=ROW_ID)
        session.add(row)
    row.mode = mode.value
    row.changed_by = by
    row.changed_at = datetime.now(UTC)
    session.add(
        AuditEvent(
            actor=by,
            action="election.mode",
            subject="election",
            detail={"from": before.value, "to": mode.value},
            note=note,
        )
    )


def mirror(redis: Redis, mode: Mode) -> None:
    """Tell every web node and worker (after the database has it)."""
    redis.set(keys.ELECTION_MODE, mode.value)


def change(redis: Redis, sessions: sessionmaker[Session], mode: Mode, by: str) -> None:
    """Record `mode` in its own transaction and mirror it."""
    with sessions.begin() as session:
        record(session, mode, by)
    mirror(redis, mode)
