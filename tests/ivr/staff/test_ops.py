"""Operations: the blocklist, staff accounts, /metrics and /healthz."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr import create_app
from ivr.hotline import Hotline
from ivr.metrics import collect
from ivr.staff import accounts, prometheus
from ivr.staff.ops import BadNumber, to_e164
from models import AuditEvent, StaffRole, StaffUser
from queues import blocklist, counters
from tests.ivr.staff.support import add_precinct, post_form, sign_in, staff_client

METRICS_TOKEN = "scrape-token-for-tests"


def test_numbers_are_normalised_to_e164_as_us_numbers() -> None:
    assert to_e164("(515) 555-0123") == "+15155550123"
    assert to_e164("515.555.0123") == "+15155550123"
    assert to_e164("+44 20 7946 0958") == "+442079460958"
    for bad in ("hello", "12", ""):
        with pytest.raises(BadNumber):
            to_e164(bad)


def test_an_admin_blocks_and_lifts_a_number_audited(client: FlaskClient, hotline: Hotline) -> None:
    staff_client(client, hotline, StaffRole.ADMIN, name="root")
    page = "/staff/blocklist"
    response = post_form(
        client, f"{page}/add", {"number": "(515) 555-0199", "reason": "robocaller"}, page
    )
    assert response.status_code == 303
    assert blocklist.is_blocked(hotline.redis, "+15155550199")
    html = client.get(page).get_data(as_text=True)
    assert "+15155550199" in html and "robocaller" in html and "staff:root" in html

    response = post_form(
        client, f"{page}/lift", {"number": "+15155550199", "reason": "a chair's cousin"}, page
    )
    assert response.status_code == 303
    assert not blocklist.is_blocked(hotline.redis, "+15155550199")
    with hotline.sessions() as db:
        assert blocklist.active_entries(db) == []
        events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor, e.action, e.subject, e.note) for e in events if "blocklist" in e.action] == [
        ("staff:root", "blocklist.added", "number:+15155550199", "robocaller"),
        ("staff:root", "blocklist.lifted", "number:+15155550199", "a chair's cousin"),
    ]


def test_a_block_needs_a_real_number_and_a_reason(client: FlaskClient, hotline: Hotline) -> None:
    staff_client(client, hotline, StaffRole.ADMIN)
    page = "/staff/blocklist"
    post_form(client, f"{page}/add", {"number": "not a number", "reason": "x"}, page)
    post_form(client, f"{page}/add", {"number": "5155550199", "reason": "  "}, page)
    html = client.get(page).get_data(as_text=True)
    assert "Give a reason" in html or "not a phone number" in html
    assert not blocklist.is_blocked(hotline.redis, "+15155550199")
    with hotline.sessions() as db:
        assert blocklist.active_entries(db) == []


def test_a_viewer_reads_the_blocklist_without_its_forms(
    client: FlaskClient, hotline: Hotline
) -> None:
    with hotline.sessions.begin() as db:
        blocklist.block(db, hotline.redis, "+15155550199", "troll", "staff:root")
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get("/staff/blocklist").get_data(as_text=True)
    assert "+15155550199" in html and 'id="block-form"' not in html and "Lift" not in html


def test_an_admin_adds_staff_with_a_password_shown_once(
    client: FlaskClient, hotline: Hotline
) -> None:
    staff_client(client, hotline, StaffRole.ADMIN, name="root")
    page = "/staff/accounts"
    response = post_form(client, f"{page}/add", {"name": "cy", "role": "reviewer"}, page)
    assert response.status_code == 200
    found = re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True))
    assert found
    password = found.group(1)
    assert password not in client.get(page).get_data(as_text=True)
    with hotline.sessions.begin() as db:
        assert accounts.sign_in(db, "cy", password, "") is not None


def test_an_admin_disables_enables_and_changes_roles_but_not_their_own(
    client: FlaskClient, hotline: Hotline
) -> None:
    staff_client(client, hotline, StaffRole.ADMIN, name="root")
    page = "/staff/accounts"
    post_form(client, f"{page}/add", {"name": "cy", "role": "viewer"}, page)
    with hotline.sessions() as db:
        cy = db.scalars(select(StaffUser).where(StaffUser.name == "cy")).one()
        root = db.scalars(select(StaffUser).where(StaffUser.name == "root")).one()
    assert post_form(client, f"{page}/{cy.id}/disable", {}, page).status_code == 303
    assert post_form(client, f"{page}/{cy.id}/role", {"role": "admin"}, page).status_code == 303
    post_form(client, f"{page}/{root.id}/disable", {}, page)
    html = client.get(page).get_data(as_text=True)
    assert "you cannot disable your own account" in html
    with hotline.sessions() as db:
        users = {u.name: (u.role, u.disabled) for u in db.scalars(select(StaffUser))}
        actions = db.scalars(
            select(AuditEvent.action).where(AuditEvent.subject == "staff:cy")
        ).all()
    assert users == {"cy": ("admin", True), "root": ("admin", False)}
    assert actions == ["staff.added", "staff.disabled", "staff.role_changed"]
    assert post_form(client, f"{page}/{cy.id}/enable", {}, page).status_code == 303


def test_metrics_need_a_login_or_the_bearer_token(app: Flask, hotline: Hotline) -> None:
    assert app.test_client().get("/metrics").status_code == 401
    token_app = create_app(dataclasses.replace(hotline.settings, metrics_token=METRICS_TOKEN))
    scraper = token_app.test_client()
    refused = scraper.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    allowed = scraper.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200
    assert allowed.headers["Content-Type"] == prometheus.CONTENT_TYPE
    token_app.extensions["hotline"].engine.dispose()
    # Without a configured token, no bearer token at all is accepted.
    assert (
        app.test_client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    )


def test_metrics_are_the_snapshot_in_prometheus_text(client: FlaskClient, hotline: Hotline) -> None:
    add_precinct(hotline, county='Odd "County"\\')
    counters.count_screening(hotline.redis, "rejected", "blocklisted")
    counters.add_event(hotline.redis, "pin_failures", 3)
    staff_client(client, hotline, StaffRole.VIEWER)
    text = client.get("/metrics").get_data(as_text=True)
    lines = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    samples = {name: float(value) for name, value in lines}
    snapshot = collect(hotline)
    assert samples["hotline_calls_in_ivr"] == snapshot.calls_in_ivr
    assert samples['hotline_precincts{state="outstanding"}'] == 1
    assert samples['hotline_rq_jobs{queue="reports",state="queued"}'] == 0
    assert samples['hotline_reports{status="received"}'] == 0
    assert samples['hotline_screening_decisions_15m{outcome="rejected",reason="blocklisted"}'] == 1
    assert samples['hotline_events_total{event="pin_failures"}'] == 3
    assert samples['hotline_county_precincts{county="Odd \\"County\\"\\\\",state="total"}'] == 1
    assert samples['hotline_webhook_latency_seconds{quantile="0.95"}'] == 0
    assert samples["hotline_webhook_latency_seconds_count"] == 0
    assert "# TYPE hotline_rq_abandoned_jobs_total counter" in text
    assert "# TYPE hotline_events_total counter" in text
    assert "# TYPE hotline_webhook_latency_seconds summary" in text


def test_healthz_answers_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"redis": "ok", "database": "ok"}


def test_healthz_names_what_failed(hotline: Hotline, tmp_path: Path) -> None:
    from tests.support.services import free_port

    broken = dataclasses.replace(
        hotline.settings,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        database_url=f"sqlite:///{tmp_path}/missing/dir/hotline.db",
    )
    app = create_app(broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"redis": "failed", "database": "failed"}
    half = create_app(dataclasses.replace(broken, database_url=hotline.settings.database_url))
    response = half.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (
        503,
        {"redis": "failed", "database": "ok"},
    )
    for made in (app, half):
        made.extensions["hotline"].engine.dispose()


def test_sign_in_page_shows_no_secret(client: FlaskClient, hotline: Hotline) -> None:
    from tests.ivr.staff.support import add_staff

    add_staff(hotline, "ana", StaffRole.VIEWER)
    assert sign_in(client, "ana").status_code == 302
    html = client.get("/staff/").get_data(as_text=True)
    assert "ana" in html and "viewer" in html
    assert "Staff</a>" not in html  # the accounts page is for admins only
