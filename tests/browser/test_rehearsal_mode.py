"""Rehearsal mode in a real browser: the REHEARSAL banner on every staff page, and an admin's
switch to live on the dashboard waiting for a chair's call in progress to end."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from playwright.sync_api import Page, expect

from flood.worksheets import load_worksheets
from ivr.hotline import Hotline
from models import Mode, StaffRole
from queues import election_mode
from queues.worker import run_worker
from softphone.caller import CallRecord
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_dashboard import call, sign_in
from tests.ivr.staff.routes import staff_routes
from tests.ivr.staff.support import add_staff
from tests.ivr.test_rehearsal import Paused
from tests.support.calls import chair
from tests.support.data import import_precincts

pytestmark = pytest.mark.browser

BANNER = "REHEARSAL — nothing here counts"
PRINTABLE = frozenset({"drill.worksheet"})
"""Pages printed for the caucus packet rather than read on the dashboard: no banner."""
GREENFIELD = ("Adair", "5GF GREENFIELD", "948203")
CHAIR_PHONE = "+15155550101"


def test_every_staff_page_says_rehearsal(
    page: Page, live_server: LiveServer, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    live = live_server
    import_precincts(runner, tmp_path)
    add_staff(live.hotline, "ada", StaffRole.ADMIN)
    sign_in(page, live, "ada")
    seen = 0
    for endpoint, method, path in staff_routes(live.app):
        if method != "GET" or endpoint in PRINTABLE:
            continue
        response = page.request.get(f"{live.url}{path}")
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue  # a download (CSV, JSON), not a page
        page.goto(f"{live.url}{path}")
        banner = page.get_by_role("status").filter(has_text=BANNER)
        expect(banner).to_be_visible()
        # At the top of the page, before anything else the page shows.
        box = banner.bounding_box()
        assert box is not None and box["y"] < 5, endpoint
        seen += 1
    assert seen >= 10
    # The readiness page carries the county map: every county of Iowa, drawn and named.
    page.goto(f"{live.url}/staff/readiness")
    expect(page.locator("#county-map svg")).to_be_visible()
    expect(page.locator("#county-map path[data-county]")).to_have_count(99)
    expect(page.get_by_role("img", name="Adair: 0 of 5 precincts ready (0%)")).to_be_attached()
    screenshot(page, f"rehearsal-banner-{live.hotline.engine.dialect.name}")


def test_the_switch_to_live_waits_for_a_call_in_progress(
    page: Page, live_server: LiveServer, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    live = live_server
    hotline: Hotline = live.hotline
    pins = import_precincts(runner, tmp_path, chair_phones={GREENFIELD[2]: CHAIR_PHONE})
    add_staff(hotline, "ada", StaffRole.ADMIN)
    sheet = load_worksheets()[GREENFIELD[:2]]
    paused = Paused(chair(GREENFIELD[2], pins[GREENFIELD[2]], sheet, hotline.ballot))
    records: list[CallRecord] = []
    chairs_call = threading.Thread(
        target=lambda: records.append(call(live, paused, CHAIR_PHONE)), daemon=True
    )
    chairs_call.start()
    try:
        assert paused.at_confirm.wait(30)
        sign_in(page, live, "ada")
        page.get_by_role("link", name="Mode").click()
        expect(page.locator("#mode")).to_have_text("rehearsal")
        page.get_by_role("button", name="Go live").click()
        expect(page.locator("#mode")).to_have_text("opening")
        expect(page.locator(".mode-banner")).to_have_text(
            "OPENING — going live; nothing here counts yet"
        )
        expect(page.locator("#waiting")).to_contain_text("Waiting for 1 call(s) in progress")
        screenshot(page, f"go-live-waiting-{hotline.engine.dialect.name}")
        page.reload()
        expect(page.locator("#waiting")).to_contain_text("Waiting for 1 call(s) in progress")
    finally:
        paused.go_on.set()
        chairs_call.join(timeout=60)
    assert records and "receipt number" in records[0].spoken
    # The chair's report is committed (as the rehearsal's); then the switch completes.
    run_worker(hotline.redis, hotline.sessions, burst=True)
    expect(page.locator("#mode")).to_have_text(re.compile("opening|live"))
    for _ in range(100):
        if election_mode.current(hotline.redis, hotline.sessions) is Mode.LIVE:
            break
        page.wait_for_timeout(100)
    page.reload()
    expect(page.locator("#mode")).to_have_text("live")
    expect(page.get_by_text(BANNER)).to_have_count(0)
    expect(page.locator("#zero-reports")).to_contain_text("report 0")
