"""Every staff page passes axe-core's rules: no violation of impact serious or critical.

The pages are every GET route of the dashboard that answers with HTML, taken from the app's
URL map, so a new page is checked without anyone listing it; a route that needs an argument
gets a real one from the seeded data (and the test fails, naming it, if there is none).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from playwright.sync_api import Page

from models import ReportStatus, StaffRole, ZeroReport
from tests.browser.axe import describe, violations
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_dashboard import sign_in
from tests.ivr.staff.routes import SAMPLE_ARGUMENTS, is_staff_route
from tests.ivr.staff.support import add_report, add_staff, add_worksheet_message
from tests.support.data import import_precincts

pytestmark = pytest.mark.browser

DOWNLOAD = re.compile(r"\.(\w+|<\w+>)$")
"""A route ending in a file extension (`.csv`, `.json`, `.<fmt>`) serves a download."""
COUNTIES = ("Adair", "Adams", "Polk")
"""Polk's 177 precincts give the precinct table a second page (its pager is checked too)."""
PRECINCT = "948203"  # Adair 5GF GREENFIELD
EXTRA_PAGES = ("/staff/readiness?county=Adair", "/staff/precincts?county=Adair")
"""Pages in a state their bare route does not show (a county's precincts)."""


def html_pages(page: Page, live: LiveServer, arguments: dict[str, str]) -> list[str]:
    """The path of every staff GET route that answers a signed-in admin with HTML."""
    adapter = live.app.url_map.bind("hotline.test")
    # Ids come from the seeded data; other arguments (a file name, a format) as the route
    # tests give them. An id that names nothing answers 404, and the assertion names it.
    given = {**SAMPLE_ARGUMENTS, **arguments}
    paths = []
    for rule in live.app.url_map.iter_rules():
        if not is_staff_route(rule.endpoint) or "GET" not in (rule.methods or ()):
            continue
        if DOWNLOAD.search(rule.rule):
            continue  # a file (CSV, JSON), never a page
        missing = set(rule.arguments) - set(given)
        assert not missing, f"{rule.endpoint} needs a real {sorted(missing)}: seed one here"
        path = adapter.build(rule.endpoint, {name: given[name] for name in rule.arguments})
        answer = page.request.get(f"{live.url}{path}", max_redirects=0)
        assert answer.status == 200, (path, answer.status)
        if answer.headers.get("content-type", "").startswith("text/html"):
            paths.append(path)
    return sorted(set(paths))


def test_no_staff_page_has_a_serious_or_critical_accessibility_violation(
    page: Page, live_server: LiveServer, runner: FlaskCliRunner, tmp_path: Path, axe_script: str
) -> None:
    live = live_server
    hotline = live.hotline
    import_precincts(runner, tmp_path, counties=COUNTIES, chair_phones={PRECINCT: "+15155550101"})
    report_id = add_report(hotline, PRECINCT, status=ReportStatus.FLAGGED)
    add_report(hotline, "948199", status=ReportStatus.COMMITTED)
    with hotline.sessions.begin() as db:
        zero = ZeroReport(by="test", counts={"report": 0})
        db.add(zero)
        db.flush()
        zero_id = str(zero.id)
    message_id, photo_id = add_worksheet_message(hotline, PRECINCT, differing_entries=True)
    add_staff(hotline, "ada", StaffRole.ADMIN)
    sign_in(page, live, "ada")

    real = {
        "precinct_id": PRECINCT,
        "report_id": report_id,
        "zero_id": zero_id,
        "message_id": str(message_id),
        "photo_id": str(photo_id),
    }
    pages = html_pages(page, live, real)
    for expected in ("/staff/", "/staff/readiness", "/staff/precincts", "/staff/accounts"):
        assert expected in pages
    assert f"/staff/precincts/{PRECINCT}" in pages and f"/staff/review/{report_id}" in pages
    assert len(pages) >= 10

    found = {}
    for path in (*pages, *EXTRA_PAGES):
        page.goto(f"{live.url}{path}")
        problems = violations(page, axe_script)
        if path == "/staff/readiness?county=Adair":
            screenshot(page, f"readiness-{hotline.engine.dialect.name}")
        if problems:
            found[path] = describe(problems)
    # The sign-in page, as a signed-out visitor sees it.
    page.context.clear_cookies()
    page.goto(f"{live.url}/staff/login")
    if problems := violations(page, axe_script):
        found["/staff/login"] = describe(problems)
    assert not found, "\n".join(f"{path}:\n{text}" for path, text in found.items())
