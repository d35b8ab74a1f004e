"""The staff dashboard in a real browser: sign in, watch a chair's call arrive, approve a
flagged report, see the results change; and what a signed-out visitor or a forged form gets.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskCliRunner
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from flood.worksheets import load_worksheets
from ivr.hotline import Hotline
from ivr.metrics import collect
from ivr.results import summarize
from models import Report, StaffRole
from queues import blocklist
from queues.worker import run_worker
from softphone import COMPLETED, HttpTransport, Softphone
from softphone.caller import Answer, CallRecord
from tests.browser.conftest import LiveServer, screenshot
from tests.conftest import AUTH_TOKEN
from tests.ivr.staff.routes import staff_routes
from tests.ivr.staff.support import PASSWORD, add_staff
from tests.support.calls import chair
from tests.support.data import import_precincts

pytestmark = pytest.mark.browser

# Worksheets whose caucus math is clean (no tie, no finding), so the chair hears no question
# beyond the figures.
GREENFIELD = ("Adair", "5GF GREENFIELD", "948203")
ADAMS_3 = ("Adams", "Adams 3", "1593417")


def call(live: LiveServer, answer: Answer, from_number: str) -> CallRecord:
    with HttpTransport() as transport:
        phone = Softphone(
            transport,
            f"{live.url}/voice",
            AUTH_TOKEN,
            from_number=from_number,
            status_callback_url=f"{live.url}/voice/status",
            fallback_url=f"{live.url}/voice/fallback",
            extra_params={"StirVerstat": "TN-Validation-Passed-A"},
        )
        return phone.call(answer)


def sign_in(page: Page, live: LiveServer, name: str) -> None:
    page.goto(f"{live.url}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def shown_metrics(page: Page) -> dict[str, str]:
    """Every live number on the overview, by its JSON path."""
    pairs: list[list[str]] = page.eval_on_selector_all(
        "[data-metric]", "els => els.map(e => [e.dataset.metric, e.textContent])"
    )
    return {path: text for path, text in pairs}


def formatted(value: float, kind: str) -> str:
    if kind == "shedding":
        return "shedding" if value else "not shedding"
    if kind == "ms":
        return f"{value:,.1f} ms"
    if kind == "seconds":
        return f"{round(value):,} s"
    return f"{round(value):,}"


def lookup(snapshot: dict[str, object], path: list[str]) -> float:
    value: object = snapshot
    for key in path:
        assert isinstance(value, dict), path
        value = value[key]
    assert isinstance(value, int | float), path
    return value


def test_a_reviewer_watches_reports_arrive_and_approves_a_flagged_one(
    page: Page, live_server: LiveServer, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    live = live_server
    hotline: Hotline = live.hotline
    phones = {GREENFIELD[2]: "+15155550101", ADAMS_3[2]: "+15155550102"}
    pins = import_precincts(runner, tmp_path, counties=("Adair", "Adams"), chair_phones=phones)
    add_staff(hotline, "ana", StaffRole.REVIEWER)
    sign_in(page, live, "ana")
    received = page.locator("""[data-metric='["reports", "received"]']""")
    expect(received).to_have_text("0")

    sheets = load_worksheets()
    good = sheets[GREENFIELD[:2]]
    record = call(
        live, chair(GREENFIELD[2], pins[GREENFIELD[2]], good, hotline.ballot), "+15155550101"
    )
    assert record.outcome == COMPLETED and record.application_errors == 0
    # A chair whose first-alignment total does not match, who keeps the figures flagged.
    sheet = sheets[ADAMS_3[:2]]
    wrong_total = f"{sum(sheet.block(hotline.ballot, 'first')) + 1}#"
    flagged_call = chair(
        ADAMS_3[2],
        pins[ADAMS_3[2]],
        sheet,
        hotline.ballot,
        **{"total/first": wrong_total, "fix/first": "2"},
    )
    record = call(live, flagged_call, "+15155550102")
    assert record.outcome == COMPLETED and "receipt number" in record.spoken
    run_worker(hotline.redis, hotline.sessions, burst=True)
    drained_at = time.time()

    # The page polls every 2 s: the numbers update in place, without a reload.
    expect(received).to_have_text("2", timeout=10_000)
    page.wait_for_function(
        "at => Number(document.getElementById('live-status').dataset.updated) > at", arg=drained_at
    )
    shown = shown_metrics(page)
    snapshot = collect(hotline).to_dict()
    kinds = dict(
        page.eval_on_selector_all(
            "[data-metric]", "els => els.map(e => [e.dataset.metric, e.dataset.format])"
        )
    )
    assert len(shown) > 20
    for path, text in shown.items():
        assert text == formatted(lookup(snapshot, json.loads(path)), kinds[path]), path
    with hotline.sessions() as db:
        by_status = dict(
            db.execute(select(Report.status, func.count()).group_by(Report.status)).all()
        )
    assert by_status == {"committed": 1, "flagged": 1}
    assert shown['["reports", "committed"]'] == "1" and shown['["reports", "flagged"]'] == "1"
    assert shown['["precincts_reported"]'] == "2"
    assert shown['["by_county", "Adair", "reported"]'] == "1"
    assert shown['["by_county", "Adams", "reported"]'] == "1"
    assert page.locator("#chart-line-calls").get_attribute("points")
    screenshot(page, f"overview-{hotline.engine.dialect.name}")

    page.get_by_role("link", name="Results", exact=True).click()
    statewide = page.locator("#statewide")
    expect(statewide.locator("caption")).to_contain_text("1 of ")
    before = statewide.inner_text()

    page.get_by_role("link", name=re.compile(r"^Review")).click()
    row = page.locator("#review-queue tbody tr", has_text="Adams 3")
    expect(row).to_contain_text("flagged")
    row.get_by_role("link", name="Review…").click()
    expect(page.locator("#correct-form input.figure")).to_have_count(3 * len(hotline.ballot.groups))
    screenshot(page, f"review-{hotline.engine.dialect.name}")
    page.get_by_label("Approve: put these figures in the results").fill(
        "Checked the worksheet total with the chair: it was a typo."
    )
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_contain_text("Approved report")
    expect(page.locator("#review-queue")).to_contain_text("Nothing waits for review")

    page.get_by_role("link", name="Results", exact=True).click()
    expect(statewide.locator("caption")).to_contain_text("2 of ")
    assert statewide.inner_text() != before
    with hotline.sessions() as db:
        results = summarize(db, hotline.ballot.group_names)
    for totals in results.statewide.ordered(hotline.ballot.group_names):
        cells = statewide.locator(f'tr[data-group="{totals.group}"] td').all_inner_texts()
        assert cells == [
            f"{totals.first_alignment:,}",
            f"{totals.final_alignment:,}",
            f"{totals.county_delegates:,}",
            f"{totals.sde:,.4f}",
        ], totals.group
    # Both worksheets are now in the results, exactly as keyed.
    first = [
        good.block(hotline.ballot, "first")[i] + sheet.block(hotline.ballot, "first")[i]
        for i in range(len(hotline.ballot.groups))
    ]
    assert [
        g.first_alignment for g in results.statewide.ordered(hotline.ballot.group_names)
    ] == first
    screenshot(page, f"results-{hotline.engine.dialect.name}")

    feed = page.request.get(f"{live.url}/results.json").json()
    assert feed["statewide"]["precincts_reporting"] == 2

    page.get_by_role("link", name="Outstanding").click()
    expect(page.locator("#outstanding-count")).to_have_text("8 outstanding")
    screenshot(page, f"outstanding-{hotline.engine.dialect.name}")

    page.goto(f"{live.url}/staff/precincts/{ADAMS_3[2]}")
    expect(page.locator("#audit + .table-wrap")).to_contain_text("report.approved")
    screenshot(page, f"precinct-{hotline.engine.dialect.name}")


def test_a_signed_out_visitor_reaches_no_staff_page(page: Page, live_server: LiveServer) -> None:
    routes = staff_routes(live_server.app)
    assert len(routes) > 15
    page.goto(f"{live_server.url}/staff/login")
    screenshot(page, f"login-{live_server.hotline.engine.dialect.name}")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    for endpoint, method, path in routes:
        if method == "GET":
            page.goto(f"{live_server.url}{path}")
            assert urlsplit(page.url).path == "/staff/login", endpoint
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        else:
            # Even with a valid CSRF token, the login guard refuses.
            response = page.request.fetch(
                f"{live_server.url}{path}",
                method=method,
                form={"csrf_token": token, "reason": "x", "number": "5155550199"},
                max_redirects=0,
            )
            assert response.status == 302, (endpoint, response.status)
            assert urlsplit(response.headers["location"]).path == "/staff/login", endpoint
    assert page.request.get(f"{live_server.url}/metrics").status == 401
    assert page.request.get(f"{live_server.url}/healthz").status == 200
    with live_server.hotline.sessions() as db:
        assert blocklist.active_entries(db) == []


def test_a_form_posted_without_its_csrf_token_is_refused(
    page: Page, live_server: LiveServer
) -> None:
    add_staff(live_server.hotline, "root", StaffRole.ADMIN)
    sign_in(page, live_server, "root")
    page.get_by_role("link", name="Blocklist").click()
    form = page.locator("#block-form")
    form.get_by_label("Number").fill("515 555 0199")
    form.get_by_label("Reason").fill("robocaller")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(lambda r: r.url.endswith("/staff/blocklist/add")) as answer:
        form.get_by_role("button", name="Block").click()
    assert answer.value.status == 400
    expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    assert not blocklist.is_blocked(live_server.hotline.redis, "+15155550199")

    # The same form with its token goes through.
    page.get_by_role("link", name="Blocklist").click()
    form.get_by_label("Number").fill("515 555 0199")
    form.get_by_label("Reason").fill("robocaller")
    form.get_by_role("button", name="Block").click()
    expect(page.locator(".flash")).to_contain_text("Blocked +15155550199")
    assert blocklist.is_blocked(live_server.hotline.redis, "+15155550199")
