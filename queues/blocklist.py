"""Blocked numbers: kept in the database (with who and why) and mirrored in a Redis set,
which is all the call path reads."""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from redis.client import Pipeline
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, BlockedNumber
from queues import keys

REDIS_KEY = keys.BLOCKLIST


def is_blocked(redis: Redis, number: str) -> bool:
    return bool(number) and bool(redis.sismember(REDIS_KEY, number))


def queue_is_blocked(pipe: Pipeline, number: str) -> None:
    """`is_blocked`'s lookup queued on `pipe`; its reply is 1 when `number` is blocked."""
    pipe.sismember(REDIS_KEY, number)


def active_entries(session: Session) -> list[BlockedNumber]:
    query = (
        select(BlockedNumber)
        .where(BlockedNumber.lifted_at.is_(None))
        .order_by(BlockedNumber.added_at)
    )
    return list(session.scalars(query))


def block(session: Session, redis: Redis, number: str, reason: str, actor: str) -> BlockedNumber:
    """Block `number` (E.164 as screening sees it), audited; the caller commits the session."""
    entry = BlockedNumber(number=number, reason=reason, added_by=actor)
    session.add(entry)
    session.add(
        AuditEvent(actor=actor, action="blocklist.added", subject=f"number:{number}", note=reason)
    )
    redis.sadd(REDIS_KEY, number)
    return entry


def lift(session: Session, redis: Redis, number: str, reason: str, actor: str) -> int:
    """Lift every active block of `number`, audited; returns how many were lifted."""
    now = datetime.now(UTC)
    entries = [entry for entry in active_entries(session) if entry.number == number]
    for entry in entries:
        entry.lifted_at = now
        entry.lifted_by = actor
    session.add(
        AuditEvent(actor=actor, action="blocklist.lifted", subject=f"number:{number}", note=reason)
    )
    redis.srem(REDIS_KEY, number)
    return len(entries)


def sync(session: Session, redis: Redis) -> int:
    """Rebuild the Redis set from the database (after a Redis restart, at worker start)."""
    numbers = {entry.number for entry in active_entries(session)}
    with redis.pipeline() as pipe:
        pipe.delete(REDIS_KEY)
        if numbers:
            pipe.sadd(REDIS_KEY, *numbers)
        pipe.execute()
    return len(numbers)
