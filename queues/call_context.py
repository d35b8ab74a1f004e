"""What the webhooks of a call the hotline placed need to know about it, handed over from
the dialer through Redis (the webhook path never reads the database for it).

The dialer writes it just before it dials; the call's URLs carry only the try's id (`a`),
inside the URL Twilio signs, so a request naming a try is Twilio's about that try.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis import Redis

from queues import keys

CONTEXT_TTL_SECONDS = 24 * 3600
"""Longer than any call; a try is dialled within seconds of writing it."""


@dataclass(frozen=True)
class CallContext:
    attempt_id: int
    purpose: str
    """models.Purpose: "verify", "callback", "straggler" or "reminder"."""
    precinct_id: str
    to_number: str
    """The chair's registered phone the call goes to (E.164)."""
    report_id: str = ""
    """The report a verification call asks about, and its receipt."""
    receipt: str = ""
    worksheet: bool = False
    """The report was keyed from a texted worksheet (issue 18), not reported on a call."""

    def save(self, redis: Redis) -> None:
        redis.set(
            keys.outbound_attempt(self.attempt_id), json.dumps(vars(self)), ex=CONTEXT_TTL_SECONDS
        )

    @classmethod
    def load(cls, redis: Redis, attempt_id: int) -> CallContext | None:
        raw = redis.get(keys.outbound_attempt(attempt_id))
        if raw is None:
            return None
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError):
            return None  # not one we wrote: the call is treated as unknown
