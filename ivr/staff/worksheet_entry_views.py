"""Operator double entry of worksheets (issue 18): two operators key each worksheet, blind to
each other, with the photo beside the form; two agreeing entries make a report through the
phone's commit path, and where they differ a reviewer (not one of the two) decides only the
differing fields, beside the photo.

A report made here is never committed on an operator's word: a photo proves nothing about
who sent it, so the report carries the number the photo came from as its caller and no
attestation, and the worker holds it like an unattested call (callflows.trust): unverified
until the chair's registered phone confirms it on the hotline's callback (or a reviewer
does), quarantined when the photo came from another number or on paper. Every entry and
decision is audited: who keyed which entry, when, and who decided what.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from callflows import double_entry
from callflows.double_entry import Field, Figures
from callflows.events import ReportSubmitted
from callflows.keypad import MAX_FIGURE, EntryError, parse_number
from callflows.state import BLOCKS
from ivr.hotline import Hotline, current_hotline
from ivr.staff.access import actor, current_staff, requires, staff_blueprint
from models import AuditEvent, PhotoState, Precinct, StaffRole, WorksheetEntry, WorksheetMessage
from queues import election_mode
from queues.assessment import report_findings
from queues.publish import publish_report

bp = staff_blueprint("worksheet_entry", __name__, "/worksheets")

REPORT_NAMESPACE = uuid.UUID("0b7f1c52-9d3e-4f7a-8c61-3e2a9d5b4c10")
"""A worksheet's report id is derived from its message, so it is made at most once."""
ENTRIES_NEEDED = 2
PROBLEMS = {
    double_entry.MISSING: "Key a number (0 for none).",
    EntryError.NOT_DIGITS.value: "Digits only.",
    EntryError.TOO_LARGE.value: f"At most {MAX_FIGURE:,}.",
}
"""What the key page says of a field `double_entry.read_entry` could not read."""


def report_id_for(message: WorksheetMessage) -> str:
    return str(uuid.uuid5(REPORT_NAMESPACE, message.message_sid))


@bp.get("/<int:message_id>/key")
@requires(StaffRole.OPERATOR)
def key(message_id: int) -> str:
    hotline = current_hotline()
    with hotline.sessions() as session:
        message, precinct = _worksheet(session, message_id)
        return render_template(
            "worksheets/key.html", **_key_page(hotline, message, precinct, {}, {})
        )


@bp.post("/<int:message_id>/key")
@requires(StaffRole.OPERATOR)
def save_entry(message_id: int) -> Response | tuple[str, int]:
    hotline = current_hotline()
    groups = len(hotline.ballot.groups)
    figures, problems = double_entry.read_entry(request.form, groups)
    name = current_staff().name
    with hotline.sessions() as session, session.begin():
        message, precinct = _worksheet(session, message_id, lock=True)
        refusal = _entry_refused(message, name)
        if problems or refusal:
            if refusal:
                flash(refusal, "error")
            page = _key_page(hotline, message, precinct, dict(request.form), problems)
            return render_template("worksheets/key.html", **page), 400
        message.entries.append(
            WorksheetEntry(operator=name, figures=figures, groups=list(hotline.ballot.group_names))
        )
        try:
            session.flush()
        except IntegrityError:
            abort(409)
        number = len(message.entries)
        session.add(_audit("worksheet.entry_keyed", message, {"entry": number, "figures": figures}))
        outcome, report = "", None
        if number == ENTRIES_NEEDED:
            outcome, report = _second_entry(hotline, session, message)
    if report is not None:
        # Queued once the entry is committed, so the report never outruns its worksheet.
        publish_report(report, hotline.redis)
    flash(outcome or f"Entry {number} of message {message.reference} saved.", "ok")
    return redirect(url_for("worksheets.message", message_id=message_id))


@bp.post("/<int:message_id>/check")
@requires(StaffRole.OPERATOR)
def check(message_id: int) -> Response:
    """The caucus checks of the phone line on what the operator has keyed so far (the
    key page asks as the operator types); the totals come with them."""
    hotline = current_hotline()
    figures, problems = double_entry.read_entry(request.form, len(hotline.ballot.groups))
    with hotline.sessions() as session:
        _, precinct = _worksheet(session, message_id)
        findings = [] if problems else _findings(hotline, precinct, figures)
    return jsonify(
        {
            "totals": double_entry.totals(figures),
            "complete": not problems,
            "findings": [finding["written"] for finding in findings],
        }
    )


@bp.get("/<int:message_id>/resolve")
@requires(StaffRole.REVIEWER)
def resolve_page(message_id: int) -> str:
    hotline = current_hotline()
    with hotline.sessions() as session:
        message, precinct = _worksheet(session, message_id)
        _may_resolve(message, current_staff().name)
        first, second = message.entries
        return render_template(
            "worksheets/resolve.html",
            message=message,
            precinct=precinct,
            differing=_differing(first, second),
            first=first,
            second=second,
            photos=[p for p in message.photos if p.state == PhotoState.STORED],
        )


@bp.post("/<int:message_id>/resolve")
@requires(StaffRole.REVIEWER)
def resolve(message_id: int) -> Response:
    hotline = current_hotline()
    name = current_staff().name
    with hotline.sessions() as session, session.begin():
        message, _ = _worksheet(session, message_id, lock=True)
        _may_resolve(message, name)
        first, second = message.entries
        differing = double_entry.differences(first.figures, second.figures)
        decided: dict[Field, int] = {}
        for field in differing:
            value = parse_number(request.form.get(field.name, "").strip(), maximum=MAX_FIGURE)
            if isinstance(value, int):
                decided[field] = value
        if len(decided) < len(differing):
            flash("Decide every field that differs (a number of at most 9,999).", "error")
            return redirect(url_for("worksheet_entry.resolve_page", message_id=message_id))
        figures = double_entry.resolve(first.figures, decided, differing)
        message.resolved_by = name
        detail = {f.name: {"entries": [first.figures[f.block][f.group],
                                       second.figures[f.block][f.group]],
                           "decided": decided[f]} for f in differing}  # fmt: skip
        session.add(_audit("worksheet.entries_resolved", message, detail))
        report = _report(hotline, message, figures)
    publish_report(report, hotline.redis)
    flash(f"Message {message.reference}: decided; its report waits for verification.", "ok")
    return redirect(url_for("worksheets.message", message_id=message_id))


# -- helpers --------------------------------------------------------------------------------


def _worksheet(
    session: Session, message_id: int, *, lock: bool = False
) -> tuple[WorksheetMessage, Precinct]:
    """The message, which must be tied to a precinct to be keyed, and that precinct."""
    query = select(WorksheetMessage).where(WorksheetMessage.id == message_id)
    message = session.scalar(query.with_for_update() if lock else query)
    if message is None:
        abort(404)
    precinct = session.scalar(select(Precinct).where(Precinct.precinct_id == message.precinct_id))
    if precinct is None:
        abort(409, "Tie this message to its precinct first (a reviewer does, on its page).")
    return message, precinct


def _entry_refused(message: WorksheetMessage, name: str) -> str:
    if message.report_id:
        return "This worksheet has its report already."
    if any(entry.operator == name for entry in message.entries):
        return "You keyed this worksheet already: a second operator keys it, blind to yours."
    if len(message.entries) >= ENTRIES_NEEDED:
        return "This worksheet has its two entries already."
    return ""


def _may_resolve(message: WorksheetMessage, name: str) -> None:
    if len(message.entries) != ENTRIES_NEEDED or message.report_id:
        abort(409, "Only a worksheet whose two entries differ waits for a decision.")
    if any(entry.operator == name for entry in message.entries):
        abort(403, "You keyed one of its entries: another reviewer decides.")


def _second_entry(
    hotline: Hotline, session: Session, message: WorksheetMessage
) -> tuple[str, ReportSubmitted | None]:
    """Compare the two entries: agreeing, they make the report (to queue once committed);
    else a reviewer decides. What the operator is told, and the report."""
    first, second = message.entries
    differing = double_entry.differences(first.figures, second.figures)
    if differing:
        fields = [field.name for field in differing]
        session.add(_audit("worksheet.entries_differ", message, {"fields": fields}))
        told = (
            f"Entry 2 of message {message.reference} saved. It differs from entry 1 in "
            f"{len(differing)} field(s): a reviewer decides."
        )
        return told, None
    session.add(_audit("worksheet.entries_agree", message, {}))
    told = f"Entry 2 of message {message.reference} agrees with entry 1: its report is queued."
    return told, _report(hotline, message, first.figures)


def _report(hotline: Hotline, message: WorksheetMessage, figures: Figures) -> ReportSubmitted:
    """The worksheet's report for the phone's commit path (where the worker holds it); the
    message records its id."""
    message.report_id = report_id_for(message)
    mode = election_mode.current(hotline.redis, hotline.sessions)
    return ReportSubmitted(
        report_id=message.report_id,
        receipt=f"{int(message.reference):06d}"[-6:] if message.reference.isdigit() else "",
        call_sid=f"worksheet:{message.message_sid}"[:64],
        caller=message.from_number,
        precinct_id=message.precinct_id,
        ballot=hotline.ballot.name,
        groups=list(hotline.ballot.group_names),
        figures=figures,
        totals=double_entry.totals(figures),
        flagged={},
        received_at=message.received_at.astimezone(UTC).isoformat(),
        chance=[],
        rehearsal=election_mode.is_rehearsal(mode),
        source="operator",
    )


def _differing(first: WorksheetEntry, second: WorksheetEntry) -> list[dict[str, Any]]:
    """The fields the two entries differ in, named by the groups they were keyed on."""
    a, b = first.figures, second.figures
    return [
        {
            "field": field,
            "group": first.groups[field.group],
            "block": field.block,
            "values": (a[field.block][field.group], b[field.block][field.group]),
        }
        for field in double_entry.differences(a, b)
    ]


def _findings(hotline: Hotline, precinct: Precinct, figures: Figures) -> list[dict[str, Any]]:
    return report_findings(precinct, list(hotline.ballot.group_names), figures)


def _key_page(
    hotline: Hotline,
    message: WorksheetMessage,
    precinct: Precinct,
    form: dict[str, str],
    problems: dict[str, str],
) -> dict[str, Any]:
    name = current_staff().name
    return {
        "message": message,
        "precinct": precinct,
        "groups": hotline.ballot.groups,
        "blocks": BLOCKS,
        "form": form,
        "problems": {name: PROBLEMS.get(why, why) for name, why in problems.items()},
        "refusal": _entry_refused(message, name),
        "photos": [p for p in message.photos if p.state == PhotoState.STORED],
        "entries": len(message.entries),
    }


def _audit(action: str, message: WorksheetMessage, detail: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        actor=actor(),
        action=action,
        subject=f"message:{message.reference}",
        detail={"precinct_id": message.precinct_id, **detail},
        at=datetime.now(UTC),
    )
