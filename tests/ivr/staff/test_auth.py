"""Signing in and out, the login guard on every staff route, roles, and CSRF."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.hotline import Hotline
from ivr.staff import accounts
from models import AuditEvent, StaffRole
from tests.conftest import AUTH_TOKEN
from tests.ivr.staff.routes import staff_routes
from tests.ivr.staff.support import (
    PASSWORD,
    add_staff,
    csrf_token,
    post_form,
    sign_in,
    staff_client,
)


def test_every_staff_route_sends_a_signed_out_visitor_to_the_login_page(
    app: Flask, client: FlaskClient
) -> None:
    routes = staff_routes(app)
    assert {endpoint.split(".")[0] for endpoint, _, _ in routes} >= {
        "overview",
        "precincts",
        "review",
        "results",
        "ops",
    }
    token = csrf_token(client)  # a valid token: the login guard, not CSRF, must refuse
    for endpoint, method, path in routes:
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert urlsplit(response.headers["Location"]).path == "/staff/login", endpoint


def test_sign_in_leads_to_the_page_asked_for_and_sign_out_ends_the_session(
    client: FlaskClient, hotline: Hotline
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    next_path = "/staff/precincts?county=Adair"
    page = client.get(next_path)
    assert page.status_code == 302
    assert parse_qs(urlsplit(page.headers["Location"]).query) == {"next": [next_path]}
    token = csrf_token(client)
    response = client.post(
        "/staff/login",
        data={"name": "ana", "password": PASSWORD, "next": next_path, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == next_path
    assert client.get("/staff/").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    copied = cookie.value

    assert post_form(client, "/staff/logout", {}, "/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302
    # A copy of the old cookie is worth nothing once its session has ended.
    client.set_cookie("session", copied)
    assert client.get("/staff/").status_code == 302


def test_login_refuses_an_offsite_next(app: Flask, hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(
            "/staff/login",
            data={"name": "ana", "password": PASSWORD, "next": target, "csrf_token": token},
        )
        assert response.headers["Location"] == "/staff/", target


def test_a_failed_login_is_refused_and_audited_without_the_password(
    client: FlaskClient, hotline: Hotline
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    response = sign_in(client, "ana", "not the password at all")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302
    with hotline.sessions() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "staff.login_failed")
        ).one()
    assert event.subject == "staff:ana"
    assert event.detail["reason"] == "wrong password"
    assert "not the password" not in repr(event.detail) + event.note


def test_disabling_an_account_ends_its_sessions_at_once(
    client: FlaskClient, app: Flask, hotline: Hotline
) -> None:
    staff_client(client, hotline, StaffRole.VIEWER, name="bo")
    assert client.get("/staff/").status_code == 200
    with hotline.sessions.begin() as db:
        bo = accounts.find(db, "bo")
        assert bo is not None
        accounts.set_disabled(db, bo, True, "staff:admin")
    assert client.get("/staff/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, hotline: Hotline) -> None:
    staff_client(client, hotline, StaffRole.ADMIN)
    response = client.post("/staff/blocklist/add", data={"number": "5155550199", "reason": "x"})
    assert response.status_code == 400
    assert "Form refused" in response.get_data(as_text=True)
    with hotline.sessions() as db:
        assert (
            db.scalars(select(AuditEvent).where(AuditEvent.action == "blocklist.added")).all() == []
        )
    bad = client.post(
        "/staff/blocklist/add",
        data={"number": "5155550199", "reason": "x", "csrf_token": "forged"},
    )
    assert bad.status_code == 400
    assert client.post("/staff/login", data={"name": "x", "password": "y"}).status_code == 400


def test_twilio_webhooks_need_no_csrf_token_only_a_signature(client: FlaskClient) -> None:
    # Unsigned: the signature check answers (403), not CSRF protection (400).
    assert client.post("/voice", data={"CallSid": "CA1"}).status_code == 403
    assert AUTH_TOKEN  # the signed calls of tests/ivr pass through the same exemption


def test_roles_gate_actions(client: FlaskClient, hotline: Hotline) -> None:
    staff_client(client, hotline, StaffRole.VIEWER)
    assert client.get("/staff/review").status_code == 200
    assert client.get("/staff/blocklist").status_code == 200
    assert client.get("/staff/accounts").status_code == 403
    report = "/staff/review/00000000-0000-0000-0000-000000000000"
    for action in ("approve", "reject", "correct"):
        response = post_form(client, f"{report}/{action}", {"reason": "x"}, "/staff/review")
        assert response.status_code == 403, action
    response = post_form(
        client, "/staff/blocklist/add", {"number": "5155550199", "reason": "x"}, "/staff/"
    )
    assert response.status_code == 403


def test_a_reviewer_may_review_but_not_manage(client: FlaskClient, hotline: Hotline) -> None:
    staff_client(client, hotline, StaffRole.REVIEWER)
    missing = "/staff/review/00000000-0000-0000-0000-000000000000/approve"
    # Allowed through the role check: refused only because there is no such report.
    assert post_form(client, missing, {"reason": "x"}, "/staff/").status_code == 404
    response = post_form(
        client, "/staff/blocklist/lift", {"number": "5155550199", "reason": "x"}, "/staff/"
    )
    assert response.status_code == 403
    assert client.get("/staff/accounts").status_code == 403
