"""A texted worksheet keyed twice in a real browser (issue 18): a chair's phone texts a photo
through the Twilio stand-in to the live server, the worker stores it, two operators key it
from the keyboard beside the photo (one with a typo, each blind to the other), a reviewer who
keyed neither decides the single differing field, the report waits for verification, and the
chair confirms on the hotline's callback: committed with exactly the worksheet's figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from playwright.sync_api import Browser, Page, expect

from callflows.state import BLOCKS
from flood.worksheets import load_worksheets
from ivr.twilio_api import outbound_runtime
from models import Report, ReportStatus, StaffRole, WorksheetMessage
from queues.dialer import Dialer
from softphone import HttpTransport, keypad
from softphone.rest import AnsweringChair, RestStandIn
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_dashboard import sign_in
from tests.conftest import AUTH_TOKEN
from tests.ivr.staff.support import add_staff
from tests.ivr.worksheets.conftest import (
    ACCOUNT_SID,
    ADAIR_1NW,
    CHAIR,
    HOTLINE_NUMBER,
    serve_account,
    work,
    worksheet_photo,
)
from tests.support.data import import_precincts

pytestmark = pytest.mark.browser

BLOCK_TITLES = {
    "first": "First alignment",
    "final": "Final alignment",
    "delegates": "County delegates",
}


@pytest.fixture
def twilio(live_server: LiveServer) -> Iterator[RestStandIn]:
    """The stand-in, delivering the number's messages to the live server over HTTP."""
    with (
        HttpTransport() as transport,
        RestStandIn(
            transport, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID, numbers=(HOTLINE_NUMBER,)
        ) as stand_in,
    ):
        serve_account(live_server.hotline, stand_in, f"{live_server.url}/sms")
        yield stand_in


def key_worksheet(page: Page, figures: dict[str, list[int]], groups: list[str]) -> None:
    """Key every figure from the keyboard, block by block, as the worksheet reads."""
    page.get_by_label(groups[0]).first.focus()
    for block in BLOCKS:
        fieldset = page.get_by_role("group", name=BLOCK_TITLES[block])
        for group, value in zip(groups, figures[block], strict=True):
            field = fieldset.get_by_label(group, exact=True)
            field.focus()
            page.keyboard.type(str(value))
        expect(page.locator(f"#total-{block}")).to_have_text(str(sum(figures[block])))


@pytest.mark.usefixtures("live_mode")
def test_two_operators_key_a_texted_photo_and_a_reviewer_decides_the_typo(
    browser: Browser,
    live_server: LiveServer,
    twilio: RestStandIn,
    runner: FlaskCliRunner,
    tmp_path: Path,
) -> None:
    live = live_server
    hotline = live.hotline
    import_precincts(runner, tmp_path, chair_phones={ADAIR_1NW: CHAIR})
    sheet = next(s for s in load_worksheets().values() if s.precinct_id == ADAIR_1NW)
    figures = {block: sheet.block(hotline.ballot, block) for block in BLOCKS}
    groups = list(hotline.ballot.group_names)
    answered = twilio.send_message(CHAIR, HOTLINE_NUMBER, media=[("image/jpeg", worksheet_photo())])
    assert re.search(r"reference \d+", answered["body"])
    work(hotline)
    with hotline.sessions() as session:
        message = session.query(WorksheetMessage).one()
        message_id, key_path = message.id, f"{live.url}/staff/worksheets/{message.id}/key"
    for name, role in (("olga", StaffRole.OPERATOR), ("omar", StaffRole.OPERATOR),
                       ("rosa", StaffRole.REVIEWER)):  # fmt: skip
        add_staff(hotline, name, role)

    typo = {block: list(values) for block, values in figures.items()}
    typo["final"][3] += 10  # one operator misreads a figure
    for name, keyed in (("olga", figures), ("omar", typo)):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, live, name)
        page.goto(key_path)
        photo = page.get_by_role("img", name=re.compile("Worksheet photo 1"))
        expect(photo).to_be_visible()
        assert photo.evaluate("img => img.naturalWidth") == 640  # the stored JPEG, served
        page.get_by_role("button", name="Rotate right").click()
        expect(photo).to_have_attribute("style", re.compile(r"rotate\(90deg\)"))
        # Blind: the form starts empty whoever keyed before.
        expect(
            page.get_by_role("group", name="First alignment").get_by_label(groups[1])
        ).to_have_value("")
        key_worksheet(page, keyed, groups)
        checks = page.locator("#checks")
        expect(checks).not_to_contain_text("Shown once every figure is keyed")
        screenshot(page, f"worksheet-keyed-by-{name}")
        page.get_by_role("button", name="Save entry").click()
        expect(page.locator(".flash.ok")).to_contain_text(f"Entry {1 if name == 'olga' else 2}")
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live, "rosa")
    page.goto(f"{live.url}/staff/worksheets/{message_id}")
    page.get_by_role("link", name="Decide the differing fields").click()
    differing = page.locator("#differing tbody tr")
    expect(differing).to_have_count(1)
    expect(differing).to_contain_text(groups[3])
    page.get_by_label(f"{groups[3]}, final").fill(str(figures["final"][3]))
    screenshot(page, "worksheet-decided")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator(".flash.ok")).to_contain_text("waits for verification")
    context.close()

    work(hotline)
    with hotline.sessions() as session:
        report = session.query(Report).one()
        assert (report.figures, report.source, report.caller) == (figures, "operator", CHAIR)
        assert report.status == ReportStatus.UNVERIFIED
        report_id = report.id

    # The hotline calls the chair's registered phone back; the chair confirms.
    twilio.callees[CHAIR] = AnsweringChair(keypad({"verify": "1"}))
    outbound = outbound_runtime(hotline.settings)
    assert outbound is not None
    assert Dialer(hotline.redis, hotline.sessions, *outbound).tick() == 1
    twilio.wait_until_idle(timeout=30)
    work(hotline)
    with hotline.sessions() as session:
        report = session.get_one(Report, report_id)
        assert (report.status, report.figures) == (ReportStatus.COMMITTED, figures)
