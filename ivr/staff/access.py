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
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, g, redirect, request, session, url_for
from redis import Redis
from werkzeug.wrappers import Response

from ivr.hotline import current_hotline
from ivr.staff.errors import error_pages
from ivr.web_sessions import is_webhook
from models import StaffRole, StaffUser
from queues import keys

SESSION_KEY = "staff_session"
SESSION_SECONDS = 12 * 3600
"""A staff login lasts one caucus night; then the staff member signs in again."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Style attributes only (never <style> or script): the overview's progress bar
        # draws its width in one; scripts stay limited to the files under /static.
        "style-src-attr 'unsafe-inline'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Sent with every answer but the webhooks'."""

MAX_NEXT_LENGTH = 2000
"""A `next` longer than this is not a page of ours."""

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


def same_site_path(target: str) -> str | None:
    """`target` if it is a path on this site, else None.

    Checked as a browser will read it: no scheme and no host once parsed, one leading slash
    (never two, which name a host), no backslash (which browsers read as a slash), and no
    control or invisible character, before or after percent-decoding: browsers drop a tab
    or newline inside a URL, so "/%09/evil.example" would lead to //evil.example, and a
    newline in a Location header is a server error.
    """
    if not target or len(target) > MAX_NEXT_LENGTH:
        return None
    for text in (target, unquote(target)):
        if "\\" in text or not text.isprintable():
            return None
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return None
        # The text itself, not only the parsed path: urlsplit drops leading spaces and
        # reads "///host" as the path "/host", where a browser goes to host.
        for path in (text, parts.path):
            if not path.startswith("/") or path.startswith("//"):
                return None
    return target


def _require_login() -> Response | None:
    if signed_in_staff() is not None:
        return None
    session.pop(SESSION_KEY, None)
    # Only a path on this site goes into `next`, so the login page cannot be an open redirect.
    target = same_site_path(request.full_path.rstrip("?"))
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def security_headers(response: Response) -> Response:
    """Add SECURITY_HEADERS to `response` (an after_request hook for the whole app)."""
    # Twilio reads no HTML, and the webhooks are the hot path: they go without.
    if not is_webhook(request.path):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


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
