"""Fixing a chair's night: a substitute chair's phone, a reissued PIN, a lifted PIN lock.

Reports fail closed (a right PIN from any phone but the registered one is quarantined, a
precinct that got too many wrong PINs is locked), so staff need a way to let the right
person report: register a substitute chair's phone, issue the precinct a new PIN (shown
once, stored only as its HMAC), lift the precinct's PIN lock. Admins only, always with a
reason, every action audited on the precinct.

No Flask here: the precinct page (`precincts`) and the command line (`hotline precincts
set-phone`, `hotline pins reissue`, `hotline pins unlock`) share it. Each function runs its
own transaction and tells the web tier's precinct directory to reload.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows.phones import read_number
from ivr.hotline import Hotline
from ivr.operations import issue_precinct_pin
from models import AuditEvent, Precinct
from queues import pin_guard

MAX_REASON_LENGTH = 1000
"""A reason is a sentence or two for the audit trail."""
MAX_CHAIR_NAME_LENGTH = 200
"""The chair's name column's width."""


class ChairError(Exception):
    """A fix that cannot be made; the message is for the admin."""


class UnknownPrecinct(ChairError):
    """No precinct has that ID."""


def set_chair_phone(
    hotline: Hotline,
    precinct_id: str,
    number: str,
    reason: str,
    actor: str,
    chair_name: str = "",
) -> str:
    """Register `number` (a valid phone number) as the precinct's chair phone, and the
    substitute chair's name if given; returns the number in E.164."""
    note = _reason(reason)
    phone = read_number(number[:64])
    if not phone.valid:
        raise ChairError(f"{_shown(number, 30)!r} is not a valid phone number")
    name = _clean(chair_name, "the chair's name", MAX_CHAIR_NAME_LENGTH)
    with hotline.sessions.begin() as db:
        precinct = _locked_precinct(db, precinct_id)
        detail: dict[str, object] = {"previous": precinct.chair_phone, "phone": phone.e164}
        precinct.chair_phone = phone.e164
        if name:
            detail.update(previous_name=precinct.chair_name, name=name)
            precinct.chair_name = name
        _audit(db, actor, "precinct.chair_phone_set", precinct, note, detail)
    hotline.directory.invalidate()
    return phone.e164


def reissue_pin(hotline: Hotline, precinct_id: str, reason: str, actor: str) -> str:
    """Give the precinct a new random PIN and return it, for the caller to show once; the
    old PIN stops working (only the new one's HMAC is stored)."""
    note = _reason(reason)
    with hotline.sessions.begin() as db:
        precinct = _locked_precinct(db, precinct_id)
        pin = issue_precinct_pin(precinct, hotline.settings.pin_key)
        # The audit trail says that a PIN was issued, never which.
        _audit(db, actor, "precinct.pin_reissued", precinct, note, {})
    hotline.directory.invalidate()
    return pin


def lift_pin_lock(hotline: Hotline, precinct_id: str, reason: str, actor: str) -> bool:
    """Lift the precinct's PIN lock and forget its wrong PINs; whether it was locked."""
    note = _reason(reason)
    with hotline.sessions.begin() as db:
        precinct = _locked_precinct(db, precinct_id)
        was_locked = pin_guard.lift_precinct_lock(hotline.redis, precinct.precinct_id)
        _audit(db, actor, "precinct.pin_unlocked", precinct, note, {"was_locked": was_locked})
    return was_locked


def precinct_locked(hotline: Hotline, precinct_id: str) -> bool:
    """Whether the precinct's PIN entry is locked now (for its page)."""
    return pin_guard.precinct_locked(hotline.redis, precinct_id)


def _locked_precinct(db: Session, precinct_id: str) -> Precinct:
    # Precinct IDs are 4 to 7 digits: anything else is not one (and a NUL byte would be
    # refused by PostgreSQL rather than found missing).
    if not (precinct_id.isascii() and precinct_id.isdigit() and len(precinct_id) <= 7):
        raise UnknownPrecinct(f"there is no precinct {_shown(precinct_id, 20)!r}")
    # Locked (PostgreSQL), as the worker and reviewers lock it, so changes take turns.
    precinct = db.scalars(
        select(Precinct).where(Precinct.precinct_id == precinct_id).with_for_update()
    ).one_or_none()
    if precinct is None:
        raise UnknownPrecinct(f"there is no precinct {precinct_id}")
    return precinct


def _reason(reason: str) -> str:
    note = _clean(reason, "the reason", MAX_REASON_LENGTH, multiline=True)
    if not note:
        raise ChairError("give a reason: it goes into the audit trail")
    return note


def _clean(text: str, what: str, limit: int, multiline: bool = False) -> str:
    """`text` stripped; refused if too long or with control characters (the database
    refuses a NUL byte, and the audit trail is read by people)."""
    value = text.strip()
    if len(value) > limit:
        raise ChairError(f"{what} is at most {limit} characters")
    allowed = "\n\r\t" if multiline else ""
    if any(not c.isprintable() and c not in allowed for c in value):
        raise ChairError(f"{what} may not contain control characters")
    return value


def _shown(text: str, limit: int) -> str:
    return "".join(c for c in text if c.isprintable())[:limit]


def _audit(
    db: Session, actor: str, action: str, precinct: Precinct, note: str, detail: dict[str, object]
) -> None:
    db.add(
        AuditEvent(
            actor=actor,
            action=action,
            subject=f"precinct:{precinct.precinct_id}",
            detail=detail,
            note=note,
        )
    )
