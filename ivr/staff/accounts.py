"""Staff accounts: add, sign in, disable, change role. Every change is audited.

No Flask here: the command line (`hotline staff add`) and the admin page share it.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import AuditEvent, StaffRole, StaffUser

MIN_PASSWORD_LENGTH = 12
"""Shorter passwords are refused; generated ones are 20 characters."""
MAX_NAME_LENGTH = 64
"""Short enough that "staff:NAME" fits the audit columns."""
HASH_METHOD = "scrypt"


@cache
def _dummy_hash() -> str:
    # Checked when the name is unknown, so a wrong name costs as long as a wrong password.
    return generate_password_hash(secrets.token_urlsafe(16), method=HASH_METHOD)


class AccountError(Exception):
    """An account change that cannot be made; the message is for the operator."""


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def find(session: Session, name: str) -> StaffUser | None:
    return session.scalars(select(StaffUser).where(StaffUser.name == name)).one_or_none()


def add_staff(
    session: Session, name: str, role: StaffRole | str, password: str, actor: str
) -> StaffUser:
    """Create an account; the caller commits the session."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() for c in name):
        raise AccountError(f"a staff name is 1 to {MAX_NAME_LENGTH} characters without spaces")
    role = _role(role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if find(session, name) is not None:
        raise AccountError(f"there is already a staff account named {name!r}")
    user = StaffUser(
        name=name,
        role=role.value,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        disabled=False,
    )
    session.add(user)
    _audit(session, actor, "staff.added", name, role=role.value)
    return user


def sign_in(session: Session, name: str, password: str, remote_addr: str) -> StaffUser | None:
    """The account if `password` is right and it is enabled; a failure is audited, never
    the password itself. The caller commits the session either way."""
    user = find(session, name)
    matches = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    reason = _refusal(user, matches)
    if user is None or reason:
        # The name as typed may be anything; it is cut to fit and kept only to spot attacks.
        subject = name[:MAX_NAME_LENGTH] if user is None else user.name
        _audit(
            session,
            "anonymous",
            "staff.login_failed",
            subject,
            reason=reason,
            remote_addr=remote_addr,
        )
        return None
    user.last_login_at = datetime.now(UTC)
    _audit(session, f"staff:{user.name}", "staff.login", user.name, remote_addr=remote_addr)
    return user


def set_password(session: Session, user: StaffUser, password: str, actor: str) -> None:
    """Give an account a new password, audited; the caller commits the session."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password, method=HASH_METHOD)
    _audit(session, actor, "staff.password_reset", user.name)


def set_disabled(session: Session, user: StaffUser, disabled: bool, actor: str) -> None:
    if actor == f"staff:{user.name}" and disabled:
        raise AccountError("you cannot disable your own account")
    user.disabled = disabled
    _audit(session, actor, "staff.disabled" if disabled else "staff.enabled", user.name)


def set_role(session: Session, user: StaffUser, role: StaffRole | str, actor: str) -> None:
    role = _role(role)
    if actor == f"staff:{user.name}" and role != user.role:
        raise AccountError("you cannot change your own role")
    previous, user.role = user.role, role.value
    _audit(session, actor, "staff.role_changed", user.name, role=role.value, previous=previous)


def _refusal(user: StaffUser | None, password_matches: bool) -> str:
    """Why a sign-in is refused ("" when it is not)."""
    if user is None:
        return "unknown name"
    if not password_matches:
        return "wrong password"
    if user.disabled:
        return "disabled"
    return ""


def same_secret(given: str, expected: str) -> bool:
    """Compare secrets in constant time (an empty expected secret never matches)."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _role(role: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(role)
    except ValueError:
        names = ", ".join(r.value for r in StaffRole)
        raise AccountError(f"the role must be one of {names}, not {role!r}") from None


def _audit(session: Session, actor: str, action: str, name: str, **detail: str) -> None:
    session.add(AuditEvent(actor=actor, action=action, subject=f"staff:{name}", detail=detail))
