"""Who is signed in, and what they may do: every staff blueprint is built here, guarded.

A signed-in staff member holds a random session token (in Flask's signed cookie); the token
maps to the account in Redis, so logging out ends the session on every device that copied
the cookie, and every request re-reads the account, so disabling it takes effect at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Blueprint, abort, g, redirect, request, session, url_for
from redis import Redis
from werkzeug.wrappers import Response

from ivr.hotline import current_hotline
from ivr.staff.errors import error_pages
from models import StaffRole, StaffUser
from queues import keys

SESSION_KEY = "staff_session"
SESSION_SECONDS = 12 * 3600
"""A staff login lasts one caucus night; then the staff member signs in again."""

P = ParamSpec("P")
R = TypeVar("R")


def start_session(redis: Redis, staff_id: int) -> str:
    """Open a session for `staff_id`; the returned token goes into the cookie."""
    token = secrets.token_urlsafe(32)
    redis.set(keys.staff_session(token), staff_id, ex=SESSION_SECONDS)
    return token


def session_staff_id(redis: Redis, token: str) -> int | None:
    value = redis.get(keys.staff_session(token))
    return int(value) if value is not None else None


def end_session(redis: Redis, token: str) -> None:
    redis.delete(keys.staff_session(token))


def signed_in_staff() -> StaffUser | None:
    """The staff member this request's cookie belongs to (None if none, or disabled)."""
    if "staff" not in g:
        g.staff = _load_staff()
    staff: StaffUser | None = g.staff
    return staff


def _load_staff() -> StaffUser | None:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    hotline = current_hotline()
    staff_id = session_staff_id(hotline.redis, token)
    if staff_id is None:
        return None
    with hotline.sessions() as db:
        user = db.get(StaffUser, staff_id)
    return user if user is not None and not user.disabled else None


def current_staff() -> StaffUser:
    """The signed-in staff member; only call it behind the login guard."""
    staff = signed_in_staff()
    if staff is None:
        abort(401)
    return staff


def actor() -> str:
    """How audit events name the signed-in staff member."""
    return f"staff:{current_staff().name}"


def _require_login() -> Response | None:
    if signed_in_staff() is not None:
        return None
    session.pop(SESSION_KEY, None)
    # Only a path on this site goes into `next`, so the login page cannot be an open redirect.
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def staff_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A blueprint under /staff whose every view requires a signed-in staff member."""
    bp = Blueprint(name, import_name, url_prefix=f"/staff{url_prefix}")
    bp.before_request(_require_login)
    error_pages(bp)
    return bp


def requires(role: StaffRole) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse (403) staff whose role does not include `role`."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_staff().may(role):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate
