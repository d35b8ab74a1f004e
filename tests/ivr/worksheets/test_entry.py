"""Operator double entry (issue 18, part 2), through the staff pages: two operators key a
texted worksheet blind to each other; agreeing entries make a report on the phone's commit
path, held until verified; differing ones wait for a reviewer who keyed neither, who decides
only the differing fields. Nobody keys both entries; every entry and decision is audited."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callflows.state import BLOCKS
from flood.worksheets import Worksheet, load_worksheets
from ivr.hotline import Hotline
from ivr.twilio_api import outbound_runtime
from models import (
    AuditEvent,
    OutboundAttempt,
    Report,
    ReportStatus,
    StaffRole,
    WorksheetEntry,
)
from queues.dialer import Dialer
from softphone import GatherPrompt, Keys, keypad
from softphone.rest import AnsweringChair, RestStandIn
from tests.ivr.staff.support import post_form, staff_client
from tests.ivr.worksheets.conftest import (
    ADAIR_1NW,
    CHAIR,
    HOTLINE_NUMBER,
    STRANGER,
    stored_messages,
    work,
    worksheet_photo,
)
from tests.support.calls import chair, place_call


def the_sheet(hotline: Hotline) -> dict[str, list[int]]:
    sheet: Worksheet = next(s for s in load_worksheets().values() if s.precinct_id == ADAIR_1NW)
    return {block: sheet.block(hotline.ballot, block) for block in BLOCKS}


def form_of(figures: dict[str, list[int]]) -> dict[str, str]:
    return {
        f"{block}-{i}": str(v) for block, values in figures.items() for i, v in enumerate(values)
    }


def texted_worksheet(hotline: Hotline, twilio: RestStandIn, sender: str = CHAIR) -> int:
    body = "" if sender == CHAIR else f"precinct {ADAIR_1NW}"
    twilio.send_message(
        sender, HOTLINE_NUMBER, body=body, media=[("image/jpeg", worksheet_photo())]
    )
    work(hotline)
    return stored_messages(hotline)[-1].id


def operator(
    app: Flask, hotline: Hotline, name: str, role: StaffRole = StaffRole.OPERATOR
) -> FlaskClient:
    return staff_client(app.test_client(), hotline, role, name=name)


def key(client: FlaskClient, message_id: int, figures: dict[str, list[int]]) -> int:
    page = f"/staff/worksheets/{message_id}/key"
    return post_form(client, page, form_of(figures), page).status_code


def actions(hotline: Hotline) -> list[tuple[str, str]]:
    with hotline.sessions() as session:
        return [
            (e.action, e.actor)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if e.action.startswith("worksheet.")
        ]


def test_two_agreeing_entries_make_a_report_held_until_the_chair_confirms(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    message_id = texted_worksheet(hotline, twilio)
    sheet = the_sheet(hotline)
    olga, omar = operator(app, hotline, "olga"), operator(app, hotline, "omar")
    page = olga.get(f"/staff/worksheets/{message_id}/key").get_data(as_text=True)
    assert 'name="first-0"' in page and "worksheets/photos/" in page
    assert key(olga, message_id, sheet) == 302
    # Nobody keys both entries, and the second operator never sees the first's figures.
    assert key(olga, message_id, sheet) == 400
    blind = omar.get(f"/staff/worksheets/{message_id}/key").get_data(as_text=True)
    assert 'value=""' in blind and f'value="{sheet["first"][1]}"' not in blind
    assert key(omar, message_id, sheet) == 302
    (message,) = stored_messages(hotline)
    assert message.report_id
    work(hotline)
    with hotline.sessions() as session:
        report = session.get(Report, message.report_id)
        assert report is not None
        assert (report.source, report.caller, report.figures) == ("operator", CHAIR, sheet)
        # The chair's own phone sent the photo, which proves nothing: held until verified.
        assert report.status == ReportStatus.UNVERIFIED
        (callback,) = session.scalars(select(OutboundAttempt))
        assert (callback.purpose, callback.to_number) == ("verify", CHAIR)
    assert actions(hotline) == [
        ("worksheet.entry_keyed", "staff:olga"),
        ("worksheet.entry_keyed", "staff:omar"),
        ("worksheet.entries_agree", "staff:omar"),
    ]


def test_differing_entries_wait_for_a_reviewer_who_decides_only_the_differing_field(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    message_id = texted_worksheet(hotline, twilio)
    sheet = the_sheet(hotline)
    typo = {block: list(values) for block, values in sheet.items()}
    typo["final"][3] += 10
    olga, omar = operator(app, hotline, "olga"), operator(app, hotline, "omar")
    assert key(olga, message_id, sheet) == 302 and key(omar, message_id, typo) == 302
    (message,) = stored_messages(hotline)
    assert message.report_id == ""
    resolve = f"/staff/worksheets/{message_id}/resolve"
    # An operator may not decide, nor a reviewer who keyed one of the entries.
    assert olga.get(resolve).status_code == 403
    rosa = operator(app, hotline, "rosa", StaffRole.REVIEWER)
    page = rosa.get(resolve).get_data(as_text=True)
    assert 'name="final-3"' in page and page.count('inputmode="numeric"') == 1
    assert post_form(rosa, resolve, {"final-3": str(sheet["final"][3])}, resolve).status_code == 302
    work(hotline)
    (message,) = stored_messages(hotline)
    assert message.resolved_by == "rosa"
    with hotline.sessions() as session:
        report = session.get(Report, message.report_id)
        assert report is not None and report.figures == sheet
    assert actions(hotline)[-1] == ("worksheet.entries_resolved", "staff:rosa")


def test_a_reviewer_who_keyed_an_entry_cannot_decide_it(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    message_id = texted_worksheet(hotline, twilio)
    sheet = the_sheet(hotline)
    typo = {**sheet, "first": [v + 1 for v in sheet["first"]]}
    rita = operator(app, hotline, "rita", StaffRole.REVIEWER)  # reviewers may key too
    omar = operator(app, hotline, "omar")
    assert key(rita, message_id, sheet) == 302 and key(omar, message_id, typo) == 302
    assert rita.get(f"/staff/worksheets/{message_id}/resolve").status_code == 403


def test_a_photo_naming_a_precinct_from_another_number_is_never_committed_unverified(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    message_id = texted_worksheet(hotline, twilio, sender=STRANGER)
    sheet = the_sheet(hotline)
    olga, omar = operator(app, hotline, "olga"), operator(app, hotline, "omar")
    assert key(olga, message_id, sheet) == 302 and key(omar, message_id, sheet) == 302
    work(hotline)
    (message,) = stored_messages(hotline)
    with hotline.sessions() as session:
        report = session.get(Report, message.report_id)
        assert report is not None and report.status == ReportStatus.QUARANTINED


def test_a_viewer_cannot_key_and_a_bad_figure_is_named(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    message_id = texted_worksheet(hotline, twilio)
    viewer = operator(app, hotline, "vera", StaffRole.VIEWER)
    assert viewer.get(f"/staff/worksheets/{message_id}/key").status_code == 403
    olga = operator(app, hotline, "olga")
    form = {**form_of(the_sheet(hotline)), "final-2": "7x"}
    page = f"/staff/worksheets/{message_id}/key"
    answer = post_form(olga, page, form, page)
    assert answer.status_code == 400 and "Digits only." in answer.get_data(as_text=True)
    with hotline.sessions() as session:
        assert session.scalars(select(WorksheetEntry)).all() == []


def test_the_check_endpoint_runs_the_phone_lines_caucus_checks(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    message_id = texted_worksheet(hotline, twilio)
    olga = operator(app, hotline, "olga")
    sheet = the_sheet(hotline)
    wrong = {**sheet, "final": [v * 3 for v in sheet["final"]]}
    page = f"/staff/worksheets/{message_id}/key"
    answer = post_form(olga, f"/staff/worksheets/{message_id}/check", form_of(wrong), page)
    data = answer.get_json()
    assert data["complete"] and data["totals"]["final"] == 3 * sum(sheet["final"])
    assert any("final alignment" in finding.lower() for finding in data["findings"])


# -- reconciliation with the phone ------------------------------------------------------------


def phoned_in(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], **overrides: str
) -> Report:
    """The chair reports by phone from the registered phone, unattested: held."""
    sheet = next(s for s in load_worksheets().values() if s.precinct_id == ADAIR_1NW)
    answer = chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot, **overrides)
    place_call(client, answer, from_number=CHAIR, stir_verstat="")
    work(hotline)
    with hotline.sessions() as session:
        report = session.scalars(select(Report).where(Report.source == "phone")).one()
        session.expunge(report)
    assert report.status == ReportStatus.UNVERIFIED
    return report


def keyed_twice(app: Flask, hotline: Hotline, twilio: RestStandIn) -> Report:
    message_id = texted_worksheet(hotline, twilio)
    sheet = the_sheet(hotline)
    for name in ("olga", "omar"):
        assert key(operator(app, hotline, name), message_id, sheet) == 302
    work(hotline)
    with hotline.sessions() as session:
        report = session.scalars(select(Report).where(Report.source == "operator")).one()
        session.expunge(report)
    return report


def test_a_worksheet_that_matches_the_phone_report_reconciles_and_verifies_it(
    app: Flask,
    client: FlaskClient,
    hotline: Hotline,
    twilio: RestStandIn,
    precincts: dict[str, str],
) -> None:
    phoned = phoned_in(client, hotline, precincts)
    keyed = keyed_twice(app, hotline, twilio)
    with hotline.sessions() as session:
        phone = session.get_one(Report, phoned.id)
        assert (phone.status, phone.reconciled_with) == (ReportStatus.COMMITTED, keyed.id)
    assert (keyed.status, keyed.reconciled_with) == (ReportStatus.DUPLICATE, phoned.id)
    assert ("precinct.reconciled", "worker") in [
        (action, who) for action, who in all_actions(hotline)
    ]
    staff = operator(app, hotline, "vera", StaffRole.VIEWER)
    page = staff.get(f"/staff/precincts/{ADAIR_1NW}").get_data(as_text=True)
    assert "worksheet keyed by two operators (photo from +15155550123)" in page
    assert "by phone from +15155550123" in page
    assert page.count("Reconciled: the same figures as") == 2
    assert "1 photo(s) stored,\n    2 of 2 entries" in page
    metrics = staff.get("/metrics").get_data(as_text=True)
    assert 'hotline_worksheets{kind="reconciled_precincts"} 1.0' in metrics
    assert 'hotline_county_precincts{county="Adair",state="reconciled"} 1.0' in metrics


def test_a_worksheet_with_one_figure_other_than_the_phones_is_a_conflict_for_review(
    app: Flask,
    client: FlaskClient,
    hotline: Hotline,
    twilio: RestStandIn,
    precincts: dict[str, str],
) -> None:
    sheet = the_sheet(hotline)
    # The chair misread one first-alignment figure on the phone (and fixed the total).
    wrong = str(sheet["first"][1] + 1)
    phoned = phoned_in(
        client,
        hotline,
        precincts,
        **{
            "figure/first/2": f"{wrong}#",
            "total/first": f"{sum(sheet['first']) + 1}#",
            # Whatever the checks then find, the chair keeps the figures (flagged).
            **{f"fix/{block}": "2" for block in BLOCKS},
        },
    )
    keyed = keyed_twice(app, hotline, twilio)
    assert (keyed.status, keyed.differs_from) == (ReportStatus.CONFLICT, phoned.id)
    with hotline.sessions() as session:
        assert session.get_one(Report, phoned.id).status == ReportStatus.UNVERIFIED
    rosa = operator(app, hotline, "rosa", StaffRole.REVIEWER)
    live = rosa.get("/staff/overview.json").get_json()["snapshot"]["worksheets"]
    assert (live["sources_differ"], live["reconciled_precincts"]) == (1, 0)
    review = rosa.get("/staff/review")
    assert keyed.receipt in review.get_data(as_text=True)


def all_actions(hotline: Hotline) -> list[tuple[str, str]]:
    with hotline.sessions() as session:
        return [(e.action, e.actor) for e in session.scalars(select(AuditEvent))]


def test_a_paper_worksheet_is_keyed_twice_and_its_report_waits_for_a_reviewer(
    app: Flask, hotline: Hotline, precincts: dict[str, str]
) -> None:
    olga, omar = operator(app, hotline, "olga"), operator(app, hotline, "omar")
    added = post_form(
        olga, "/staff/worksheets/paper", {"precinct_id": ADAIR_1NW}, "/staff/worksheets/"
    )
    assert added.status_code == 302 and added.location.endswith("/key")
    (message,) = stored_messages(hotline)
    assert (message.precinct_id, message.from_number, message.photos) == (ADAIR_1NW, "", [])
    sheet = the_sheet(hotline)
    assert key(olga, message.id, sheet) == 302 and key(omar, message.id, sheet) == 302
    work(hotline)
    with hotline.sessions() as session:
        report = session.scalars(select(Report)).one()
    # No phone sent it: nobody to call back, so a reviewer decides.
    assert (report.source, report.caller, report.status) == ("operator", "", "quarantined")
    assert ("worksheet.paper_added", "staff:olga") in all_actions(hotline)


@pytest.mark.usefixtures("live_mode")
def test_the_chair_confirms_a_worksheets_report_on_the_hotlines_callback(
    app: Flask, hotline: Hotline, twilio: RestStandIn, precincts: dict[str, str]
) -> None:
    """The Done-when's end: the report two operators made from the chair's photo waits, the
    hotline calls the chair's registered phone, the chair presses 1, and it commits exactly."""
    keyed = keyed_twice(app, hotline, twilio)
    assert keyed.status == ReportStatus.UNVERIFIED
    heard: list[str] = []

    def the_chair(prompt: GatherPrompt) -> Keys:
        heard.append(prompt.text)
        return keypad({"verify": "1"})(prompt)

    twilio.callees[CHAIR] = AnsweringChair(the_chair)
    outbound = outbound_runtime(hotline.settings)
    assert outbound is not None
    assert Dialer(hotline.redis, hotline.sessions, *outbound).tick() == 1
    twilio.wait_until_idle(timeout=30)
    work(hotline)
    (call,) = twilio.created_calls
    assert (call.to, call.from_) == (CHAIR, HOTLINE_NUMBER)
    (message,) = stored_messages(hotline)
    # Asked about the photo it texted, by the reference its reply gave.
    assert f"was texted to the hotline, reference {message.reference}." in heard[0]
    with hotline.sessions() as session:
        report = session.get_one(Report, keyed.id)
        assert report.status == ReportStatus.COMMITTED
        assert report.figures == the_sheet(hotline)
