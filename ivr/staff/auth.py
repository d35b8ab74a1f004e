"""Signing staff in and out (the only staff pages open to anyone)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ivr.hotline import current_hotline
from ivr.staff import accounts
from ivr.staff.access import SESSION_KEY, end_session, signed_in_staff, start_session
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
    with hotline.sessions.begin() as db:
        user = accounts.sign_in(
            db, name, request.form.get("password", ""), request.remote_addr or ""
        )
        staff_id = user.id if user else None
    if staff_id is None:
        flash("That name and password do not match an enabled staff account.", "error")
        return render_template("login.html", next=target, name=name), 401
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
    """Only a path on this site (never //host or a scheme), else the overview."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("overview.index")
