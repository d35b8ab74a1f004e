"""Signing staff in and out (the only staff pages open to anyone)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ivr.hotline import current_hotline
from ivr.staff import accounts, sign_in_guard
from ivr.staff.access import (
    SESSION_KEY,
    end_session,
    same_site_path,
    signed_in_staff,
    start_session,
)
from ivr.staff.client_address import client_address
from ivr.staff.errors import error_pages

bp = Blueprint("auth", __name__, url_prefix="/staff")
error_pages(bp)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if signed_in_staff() is not None:
            return redirect(target)
        return render_template("login.html", next=target, name="")
    name = request.form.get("name", "").strip()
    hotline = current_hotline()
    address = _client_address()
    # Counted and refused before the password hash is checked: that check is the cost.
    throttled = sign_in_guard.admit(hotline.redis, name, address)
    if throttled is not None:
        if throttled.first:
            with hotline.sessions.begin() as db:
                sign_in_guard.audit_throttled(db, name, address, throttled)
        flash(throttled.message(), "error")
        page = render_template("login.html", next=target, name=sign_in_guard.shown(name))
        return page, 429, {"Retry-After": str(throttled.retry_after_seconds)}
    with hotline.sessions.begin() as db:
        if sign_in_guard.possible_name(name):
            user = accounts.sign_in(db, name, request.form.get("password", ""), address)
        else:
            # No account can have this name, and the database may refuse it (a NUL byte).
            sign_in_guard.audit_impossible_name(db, name, address)
            user = None
        staff_id = user.id if user else None
    if staff_id is None:
        flash("That name and password do not match an enabled staff account.", "error")
        return render_template("login.html", next=target, name=sign_in_guard.shown(name)), 401
    sign_in_guard.succeeded(hotline.redis, name, address)
    # A fresh cookie at sign-in, so a session planted before it is worth nothing.
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = start_session(hotline.redis, staff_id)
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        end_session(current_hotline().redis, token)
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str) -> str:
    """Only a path on this site (see `same_site_path`), else the overview."""
    return same_site_path(target) or url_for("overview.index")


def _client_address() -> str:
    """The client's address: the peer's, or the forwarded one behind a trusted proxy."""
    trusted = current_hotline().settings.trusted_proxies
    forwarded = request.headers.getlist("X-Forwarded-For")
    return client_address(request.remote_addr or "", forwarded, trusted)
