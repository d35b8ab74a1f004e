"""Call state in Redis: the flow's state and last answer by CallSid, progress by precinct.

This is the only thing the webhooks write (besides rq jobs), so a slow database never
slows a caller. Keys expire on their own; run Redis with AOF so a restart keeps them.
"""

from __future__ import annotations

import secrets

from redis import Redis
from redis.lock import Lock

from callflows.state import CallState, Progress

PREFIX = "hotline"
PROGRESS_TTL_SECONDS = 24 * 3600
RECEIPT_TTL_SECONDS = 30 * 24 * 3600


class CallStore:
    """Reads and writes call state for the webhooks."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    def _call_key(self, call_sid: str) -> str:
        return f"{PREFIX}:call:{call_sid}"

    def load(self, call_sid: str) -> tuple[CallState, str] | None:
        """The call's state and the TwiML last sent to it, or None for an unknown call."""
        data = self.redis.hmget(self._call_key(call_sid), ["state", "twiml"])
        if data[0] is None:
            return None
        twiml = data[1] or b""
        return CallState.from_json(data[0]), twiml.decode() if isinstance(twiml, bytes) else twiml

    def save(self, state: CallState, twiml: str) -> None:
        key = self._call_key(state.call_sid)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping={"state": state.to_json(), "twiml": twiml})
            pipe.expire(key, self.ttl)
            pipe.execute()

    def lock(self, call_sid: str) -> Lock:
        """A short lock so a repeated request for the same call waits for the first one."""
        lock: Lock = self.redis.lock(
            f"{self._call_key(call_sid)}:lock", timeout=10, blocking_timeout=5
        )
        return lock

    def _progress_key(self, precinct_id: str, caller: str) -> str:
        # By caller too: a report in progress is offered only to the phone that keyed it,
        # never to someone else who has (or guessed) the precinct's PIN.
        return f"{PREFIX}:progress:{precinct_id}:{caller}"

    def save_progress(self, precinct_id: str, caller: str, progress: Progress) -> None:
        key = self._progress_key(precinct_id, caller)
        self.redis.set(key, progress.to_json(), ex=PROGRESS_TTL_SECONDS)

    def load_progress(self, precinct_id: str, caller: str) -> Progress | None:
        raw = self.redis.get(self._progress_key(precinct_id, caller))
        return Progress.from_json(raw) if raw else None

    def clear_progress(self, precinct_id: str, caller: str) -> None:
        self.redis.delete(self._progress_key(precinct_id, caller))

    def new_receipt(self, attempts: int = 20) -> str:
        """A six-digit receipt not handed out in the last month (reserved in Redis)."""
        for _ in range(attempts):
            code = f"{secrets.randbelow(10**6):06d}"
            if self.redis.set(f"{PREFIX}:receipt:{code}", 1, nx=True, ex=RECEIPT_TTL_SECONDS):
                return code
        raise RuntimeError("could not find a free receipt number")
