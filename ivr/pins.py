"""PINs: issued at random, stored and compared only as a keyed HMAC, never in the clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PIN_LENGTH = 6


def new_pin() -> str:
    """A uniformly random six-digit PIN (leading zeros allowed)."""
    return f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"


def pin_hmac(pin_key: str, precinct_id: str, pin: str) -> str:
    """The stored form of a PIN: bound to its precinct, useless without the PIN key."""
    message = f"{precinct_id}:{pin}".encode()
    return hmac.new(pin_key.encode(), message, hashlib.sha256).hexdigest()


def pin_matches(pin_key: str, precinct_id: str, pin: str, stored: str | None) -> bool:
    """Whether `pin` is the precinct's PIN; constant-time, and False when none was issued."""
    if not stored:
        return False
    return hmac.compare_digest(pin_hmac(pin_key, precinct_id, pin), stored)
