"""Texted worksheets on the dashboard (issue 18): every message sent to the hotline's number,
its photos, and the triage of those no precinct could be tied to.

Any staff role sees the messages and the photos (staff read every page); a reviewer ties a
message in triage to its precinct, which is audited. Photos are served only from the
database and only as the image types the hotline keeps, so a stored file can never be
served as a page of this site.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from callflows.worksheet_messages import PHOTO_TYPES
from ivr.hotline import current_hotline
from ivr.staff.access import actor, requires, staff_blueprint
from models import AuditEvent, PhotoState, Precinct, StaffRole, WorksheetMessage, WorksheetPhoto
from queues import election_mode, keys

bp = staff_blueprint("worksheets", __name__, "/worksheets")

SHOWN = 500
"""Messages listed on the page, newest first."""


@bp.get("/")
def index() -> str:
    triage_only = request.args.get("triage") == "1"
    county = request.args.get("county", "")
    with current_hotline().sessions() as session:
        query = (
            select(WorksheetMessage)
            .options(selectinload(WorksheetMessage.photos))
            .order_by(WorksheetMessage.received_at.desc(), WorksheetMessage.id.desc())
            .limit(SHOWN)
        )
        if triage_only:
            query = query.where(WorksheetMessage.triage)
        if county:
            in_county = select(Precinct.precinct_id).where(Precinct.county == county)
            query = query.where(WorksheetMessage.precinct_id.in_(in_county))
        messages = list(session.scalars(query))
        names = dict(session.execute(select(Precinct.precinct_id, Precinct.name)).all())
    return render_template(
        "worksheets/index.html",
        messages=messages,
        names=names,
        triage_only=triage_only,
        county=county,
        states=PhotoState,
    )


@bp.get("/<int:message_id>")
def message(message_id: int) -> str:
    with current_hotline().sessions() as session:
        found = session.get(WorksheetMessage, message_id)
        if found is None:
            abort(404)
        _ = found.photos, found.entries
        precinct = (
            session.scalar(select(Precinct).where(Precinct.precinct_id == found.precinct_id))
            if found.precinct_id
            else None
        )
    return render_template(
        "worksheets/message.html", message=found, precinct=precinct, states=PhotoState
    )


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int) -> Response:
    with current_hotline().sessions() as session:
        found = session.get(WorksheetPhoto, photo_id)
        if found is None or found.content is None or found.state != PhotoState.STORED:
            abort(404)
        content, kind = found.content, found.content_type
    if kind not in PHOTO_TYPES:
        abort(404)
    response = Response(content, mimetype=kind)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/paper")
@requires(StaffRole.OPERATOR)
def paper() -> Response:
    """A paper worksheet brought in (or read out by a chair): kept as a message with no
    photo, tied to its precinct, for two operators to key like a texted one."""
    precinct_id = request.form.get("precinct_id", "").strip()
    hotline = current_hotline()
    with hotline.sessions.begin() as session:
        known = session.scalar(select(Precinct.id).where(Precinct.precinct_id == precinct_id))
        if known is None:
            flash(f"No precinct has the ID {precinct_id!r}: nothing added.", "error")
            return redirect(url_for("worksheets.index"))
        reference = str(hotline.redis.incr(keys.WORKSHEET_REFERENCE))
        message = WorksheetMessage(
            message_sid=f"paper-{uuid.uuid4().hex}",
            reference=reference,
            precinct_id=precinct_id,
            tied_by="staff",
            rehearsal=election_mode.is_rehearsal(election_mode.stored(session)),
        )
        session.add(message)
        session.flush()
        message_id = message.id
        session.add(
            AuditEvent(
                actor=actor(),
                action="worksheet.paper_added",
                subject=f"message:{reference}",
                detail={"precinct_id": precinct_id},
            )
        )
    flash(f"Paper worksheet for precinct {precinct_id} added as message {reference}.", "ok")
    return redirect(url_for("worksheet_entry.key", message_id=message_id))


@bp.post("/<int:message_id>/precinct")
@requires(StaffRole.REVIEWER)
def assign_precinct(message_id: int) -> Response:
    """A reviewer ties a message to the precinct its photo shows."""
    precinct_id = request.form.get("precinct_id", "").strip()
    with current_hotline().sessions.begin() as session:
        found = session.get(WorksheetMessage, message_id)
        if found is None:
            abort(404)
        known = session.scalar(select(Precinct.id).where(Precinct.precinct_id == precinct_id))
        if known is None:
            flash(f"No precinct has the ID {precinct_id!r}: nothing changed.", "error")
            return redirect(url_for("worksheets.message", message_id=message_id))
        before = found.precinct_id
        found.precinct_id, found.tied_by = precinct_id, "staff"
        stored = [p for p in found.photos if p.state == PhotoState.STORED]
        found.triage = not stored or any(p.state != PhotoState.STORED for p in found.photos)
        session.add(
            AuditEvent(
                actor=actor(),
                action="worksheet.precinct_assigned",
                subject=f"message:{found.reference}",
                detail={"precinct_id": precinct_id, "before": before},
            )
        )
    flash(f"Message {found.reference} is now precinct {precinct_id}'s.", "ok")
    return redirect(url_for("worksheets.message", message_id=message_id))
