"""Operations pages: the blocklist (everyone reads, admins change) and staff accounts
(admins only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from callflows.phones import NumberKind, read_number
from ivr.hotline import current_hotline
from ivr.staff import accounts
from ivr.staff.access import actor, current_staff, requires, staff_blueprint
from models import StaffRole, StaffUser
from queues import blocklist

bp = staff_blueprint("ops", __name__)


class BadNumber(ValueError):
    """Not something a caller ID could be."""


def to_e164(text: str) -> str:
    """A number as screening sees it (E.164), read as a US number unless it has a +code.

    Any possible number may be blocked, not only valid ones: spoofed caller IDs are often
    unassigned numbers, and those are exactly the ones staff need to block."""
    phone = read_number(text)
    if phone.kind not in (NumberKind.VALID, NumberKind.POSSIBLE):
        raise BadNumber(f"{text!r} is not a phone number")
    return phone.e164


@bp.get("/blocklist")
def blocklist_page() -> str:
    with current_hotline().sessions() as db:
        entries = blocklist.active_entries(db)
    return render_template(
        "blocklist.html", entries=entries, can_manage=current_staff().may(StaffRole.ADMIN)
    )


@bp.post("/blocklist/add")
@requires(StaffRole.ADMIN)
def blocklist_add() -> ResponseReturnValue:
    reason = request.form.get("reason", "").strip()
    try:
        number = to_e164(request.form.get("number", ""))
    except BadNumber as error:
        return _refuse(str(error), "ops.blocklist_page")
    if not reason:
        return _refuse("Give a reason: it goes into the audit trail.", "ops.blocklist_page")
    hotline = current_hotline()
    with hotline.sessions.begin() as db:
        blocklist.block(db, hotline.redis, number, reason, actor())
    flash(f"Blocked {number}.", "info")
    return redirect(url_for("ops.blocklist_page"), code=303)


@bp.post("/blocklist/lift")
@requires(StaffRole.ADMIN)
def blocklist_lift() -> ResponseReturnValue:
    reason = request.form.get("reason", "").strip()
    try:
        number = to_e164(request.form.get("number", ""))
    except BadNumber as error:
        return _refuse(str(error), "ops.blocklist_page")
    if not reason:
        return _refuse("Give a reason: it goes into the audit trail.", "ops.blocklist_page")
    hotline = current_hotline()
    with hotline.sessions.begin() as db:
        lifted = blocklist.lift(db, hotline.redis, number, reason, actor())
    flash(f"Lifted {lifted} block(s) of {number}.", "info")
    return redirect(url_for("ops.blocklist_page"), code=303)


@bp.get("/accounts")
@requires(StaffRole.ADMIN)
def accounts_page() -> str:
    return _accounts_page()


@bp.post("/accounts/add")
@requires(StaffRole.ADMIN)
def accounts_add() -> ResponseReturnValue:
    name = request.form.get("name", "")
    password = accounts.generate_password()
    try:
        with current_hotline().sessions.begin() as db:
            accounts.add_staff(db, name, request.form.get("role", ""), password, actor())
    except accounts.AccountError as error:
        flash(str(error), "error")
        return _accounts_page(), 400
    # Shown on this page only, once; never flashed, since flashes travel in the cookie.
    return _accounts_page(new_account=(name.strip(), password))


@bp.post("/accounts/<int:staff_id>/<change>")
@requires(StaffRole.ADMIN)
def accounts_change(staff_id: int, change: str) -> ResponseReturnValue:
    if change not in ("disable", "enable", "role"):
        abort(404)
    try:
        with current_hotline().sessions.begin() as db:
            user = db.get(StaffUser, staff_id)
            if user is None:
                abort(404)
            if change == "role":
                accounts.set_role(db, user, request.form.get("role", ""), actor())
                message = f"{user.name} is now {user.role}."
            else:
                accounts.set_disabled(db, user, change == "disable", actor())
                message = f"{user.name} is {'disabled' if user.disabled else 'enabled'}."
    except accounts.AccountError as error:
        return _refuse(str(error), "ops.accounts_page")
    flash(message, "info")
    return redirect(url_for("ops.accounts_page"), code=303)


def _accounts_page(new_account: tuple[str, str] | None = None) -> str:
    with current_hotline().sessions() as db:
        users = db.scalars(select(StaffUser).order_by(StaffUser.name)).all()
    return render_template(
        "accounts.html",
        users=users,
        role_names=[role.value for role in StaffRole],
        new_account=new_account,
        me=current_staff().name,
    )


def _refuse(message: str, endpoint: str) -> ResponseReturnValue:
    flash(message, "error")
    return redirect(url_for(endpoint), code=303)
