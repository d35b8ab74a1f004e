"""Throttling staff sign-ins, in Redis, before any password is checked.

Each attempt is counted before its password hash is checked (a check costs ~90 ms of CPU),
under two keys: the account as typed with the client's address, and the address alone.
Past STAFF_SIGN_IN_ACCOUNT_LIMIT attempts on one account from one address, or
STAFF_SIGN_IN_ADDRESS_LIMIT from one address over all accounts, within the window, the
attempt is refused unchecked. Keying the account on the address too means an attacker
cannot lock a staff member out from everywhere: the real one still signs in from their own
address. A successful sign-in takes its attempt back, so only failures count.

No Flask here: the login view passes the name and the address it resolved.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from redis import Redis
from sqlalchemy.orm import Session

from ivr.staff.accounts import MAX_NAME_LENGTH
from models import AuditEvent
from queues import keys
from queues.defaults import (
    STAFF_SIGN_IN_ACCOUNT_LIMIT,
    STAFF_SIGN_IN_ADDRESS_LIMIT,
    STAFF_SIGN_IN_WINDOW_SECONDS,
)

ACCOUNT = "account"
ADDRESS = "address"

# A count that expired since the attempt was admitted must not come back below zero
# (and without an expiry), so a success only takes back what is still counted.
_TAKE_BACK = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Throttled:
    """Why an attempt is refused unchecked, and for how long."""

    scope: str
    """ACCOUNT (this name from this address) or ADDRESS (this address, any name)."""
    retry_after_seconds: int
    first: bool
    """The first refused attempt of its window (the one to audit)."""

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_seconds / 60))

    def message(self) -> str:
        """What the login page says (the same words whether or not the name exists)."""
        who = {ACCOUNT: "for this account from your address"}.get(self.scope, "from your address")
        unit = "minute" if self.minutes == 1 else "minutes"
        return f"Too many failed sign-ins {who}; try again in {self.minutes} {unit}."


def _account(name: str) -> str:
    # A digest, so a name of any length or alphabet makes a short, well-formed key.
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def admit(redis: Redis, name: str, address: str) -> Throttled | None:
    """Count this attempt; None if its password may be checked, else why it may not."""
    account_key = keys.sign_in_attempts(_account(name), address)
    address_key = keys.sign_in_address_attempts(address)
    window = STAFF_SIGN_IN_WINDOW_SECONDS
    with redis.pipeline() as pipe:
        pipe.incr(account_key)
        pipe.expire(account_key, window, nx=True)
        pipe.incr(address_key)
        pipe.expire(address_key, window, nx=True)
        pipe.ttl(account_key)
        pipe.ttl(address_key)
        account_count, _, address_count, _, account_ttl, address_ttl = pipe.execute()
    if int(account_count) > STAFF_SIGN_IN_ACCOUNT_LIMIT:
        first = int(account_count) == STAFF_SIGN_IN_ACCOUNT_LIMIT + 1
        return Throttled(ACCOUNT, _seconds(account_ttl), first)
    if int(address_count) > STAFF_SIGN_IN_ADDRESS_LIMIT:
        first = int(address_count) == STAFF_SIGN_IN_ADDRESS_LIMIT + 1
        return Throttled(ADDRESS, _seconds(address_ttl), first)
    return None


def succeeded(redis: Redis, name: str, address: str) -> None:
    """Take back a successful attempt: the account starts afresh from this address, and
    the address's count over all accounts loses this one (never the failures before it)."""
    redis.delete(keys.sign_in_attempts(_account(name), address))
    redis.eval(_TAKE_BACK, 1, keys.sign_in_address_attempts(address))


def _seconds(ttl: int) -> int:
    # TTL is negative only if the key vanished in between: say the whole window.
    return int(ttl) if int(ttl) > 0 else STAFF_SIGN_IN_WINDOW_SECONDS


def possible_name(name: str) -> bool:
    """Whether `name` could be an account's (short enough, no control characters)."""
    return 0 < len(name) <= MAX_NAME_LENGTH and name.isprintable()


def shown(name: str) -> str:
    """The name as typed, cleaned and cut for the page and the audit trail."""
    return "".join(c for c in name if c.isprintable())[:MAX_NAME_LENGTH]


def audit_throttled(session: Session, name: str, address: str, throttled: Throttled) -> None:
    """Audit the first refused attempt of a window; the caller commits the session."""
    _audit(
        session,
        "staff.sign_in_throttled",
        name,
        scope=throttled.scope,
        remote_addr=address,
        minutes=str(throttled.minutes),
    )


def audit_impossible_name(session: Session, name: str, address: str) -> None:
    """Audit a sign-in with a name no account can have; the caller commits the session."""
    _audit(session, "staff.login_failed", name, reason="impossible name", remote_addr=address)


def _audit(session: Session, action: str, name: str, **detail: str) -> None:
    subject = f"staff:{shown(name)}"
    session.add(AuditEvent(actor="anonymous", action=action, subject=subject, detail=detail))
