"""Signing in, hardened: no open redirect, throttled failures, forwarded addresses only from
trusted proxies, and the security headers on every page but the webhooks."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import check_password_hash
from werkzeug.test import TestResponse

from ivr.hotline import Hotline
from ivr.staff import accounts, sign_in_guard
from ivr.staff.access import SECURITY_HEADERS, same_site_path
from ivr.staff.client_address import client_address
from models import AuditEvent, StaffRole
from queues.defaults import STAFF_SIGN_IN_ACCOUNT_LIMIT
from tests.ivr.staff.support import PASSWORD, add_staff, csrf_token, staff_client

OFFSITE = [
    "/%09/evil.example",
    "/\t/evil.example",
    "/%0A",
    "/\n",
    "/%0D%0ALocation:%20https://evil.example",
    "//evil.example",
    "///evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    " /staff/",
    "/%E2%80%AE/staff/",
    "/%00",
    "/" + "a" * 5000,
    "",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_an_offsite_or_odd_next_is_never_a_path_of_ours(target: str) -> None:
    assert same_site_path(target) is None


@pytest.mark.parametrize(
    "target", ["/staff/", "/staff/precincts?county=Adair", "/staff/precincts/100001#fix"]
)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert same_site_path(target) == target


def login(
    client: FlaskClient,
    name: str,
    password: str = PASSWORD,
    *,
    next_path: str | None = None,
    forwarded_for: str | None = None,
) -> TestResponse:
    data = {"name": name, "password": password, "csrf_token": csrf_token(client)}
    if next_path is not None:
        data["next"] = next_path
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return client.post("/staff/login", data=data, headers=headers)


def test_after_sign_in_an_offsite_next_leads_to_the_overview(
    app: Flask, hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    # The redirect is under test, not the password: skip scrypt's 90 ms per sign-in.
    monkeypatch.setattr(accounts, "check_password_hash", lambda _hash, given: given == PASSWORD)
    for target in OFFSITE:
        client = app.test_client()
        response = login(client, "ana", next_path=target)
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/staff/", target
        # Signed in already: the login page's GET redirects the same way.
        again = client.get("/staff/login", query_string={"next": target})
        assert again.status_code == 302 and again.headers["Location"] == "/staff/", target


def test_the_login_guard_keeps_only_a_safe_next(client: FlaskClient, hotline: Hotline) -> None:
    # A precinct ID with a newline in it: the guard must not pass it on as `next`.
    response = client.get("/staff/precincts/%0A")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/staff/login" and "next" not in parse_qs(location.query)
    fine = client.get("/staff/precincts?county=Adair")
    assert parse_qs(urlsplit(fine.headers["Location"]).query) == {
        "next": ["/staff/precincts?county=Adair"]
    }


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every password hash check made, by the password checked."""
    checked: list[str] = []
    real = check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    yield checked


def audit(hotline: Hotline, action: str) -> list[AuditEvent]:
    with hotline.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_failed_sign_ins_are_throttled_per_account_and_address_before_any_hash(
    app: Flask, hotline: Hotline, hash_checks: list[str]
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    attacker = app.test_client()
    for _ in range(STAFF_SIGN_IN_ACCOUNT_LIMIT):
        assert login(attacker, "ana", "wrong password!").status_code == 401
    assert len(hash_checks) == STAFF_SIGN_IN_ACCOUNT_LIMIT

    # Even the right password is refused now from this address, and never hashed.
    refused = login(attacker, "ana", PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    text = refused.get_data(as_text=True)
    assert (
        "Too many failed sign-ins for this account from your address; try again in 15 minutes."
        in text
    )
    assert len(hash_checks) == STAFF_SIGN_IN_ACCOUNT_LIMIT
    assert login(attacker, "ana", "another guess").status_code == 429
    assert len(hash_checks) == STAFF_SIGN_IN_ACCOUNT_LIMIT

    # Audited once per window, with the address; never the password.
    (event,) = audit(hotline, "staff.sign_in_throttled")
    assert event.subject == "staff:ana"
    assert event.detail == {"scope": "account", "remote_addr": "127.0.0.1", "minutes": "15"}

    # Ana herself, from her own address, still signs in: nobody can lock her out everywhere.
    ana = app.test_client()
    ana.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(ana, "ana").status_code == 302
    # And another account from the attacker's address is not throttled by ana's count.
    add_staff(hotline, "bo", StaffRole.VIEWER)
    assert login(app.test_client(), "bo").status_code == 302


def test_a_success_forgets_the_failures_of_its_account_and_address(
    app: Flask, hotline: Hotline
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    client = app.test_client()
    for _ in range(STAFF_SIGN_IN_ACCOUNT_LIMIT - 1):
        assert login(client, "ana", "typo typo typo").status_code == 401
    assert login(client, "ana").status_code == 302
    client = app.test_client()
    for _ in range(STAFF_SIGN_IN_ACCOUNT_LIMIT - 1):
        assert login(client, "ana", "typo typo typo").status_code == 401
    assert login(client, "ana").status_code == 302


def test_one_address_trying_many_names_is_throttled_too(
    app: Flask, hotline: Hotline, hash_checks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sign_in_guard, "STAFF_SIGN_IN_ADDRESS_LIMIT", 4)
    client = app.test_client()
    for index in range(4):
        assert login(client, f"name-{index}", "guess").status_code == 401
    refused = login(client, "yet-another-name", "guess")
    assert refused.status_code == 429
    assert "Too many failed sign-ins from your address" in refused.get_data(as_text=True)
    assert len(hash_checks) == 4
    (event,) = audit(hotline, "staff.sign_in_throttled")
    assert event.detail["scope"] == "address"


def test_a_name_no_account_can_have_is_refused_without_a_500_or_a_hash(
    app: Flask, hotline: Hotline, hash_checks: list[str]
) -> None:
    for name in ("ana\x00", "a" * 100_000, "\u202eana", ""):
        response = login(app.test_client(), name, "guess")
        assert response.status_code == 401, name[:10]
    assert hash_checks == []
    events = audit(hotline, "staff.login_failed")
    assert [event.detail["reason"] for event in events] == ["impossible name"] * 4
    assert all(len(event.subject) <= len("staff:") + 64 for event in events)


def test_a_spoofed_forwarded_header_from_an_untrusted_peer_is_ignored(
    app: Flask, hotline: Hotline
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    client = app.test_client()
    for index in range(STAFF_SIGN_IN_ACCOUNT_LIMIT):
        spoofed = f"203.0.113.{index}"
        assert login(client, "ana", "guess guess", forwarded_for=spoofed).status_code == 401
    # A new X-Forwarded-For does not make a new client: the peer is who it is.
    assert login(client, "ana", PASSWORD, forwarded_for="198.51.100.99").status_code == 429
    addresses = {e.detail["remote_addr"] for e in audit(hotline, "staff.login_failed")}
    assert addresses == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_forwarded_client_counts(app: Flask, hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    hotline.settings = dataclasses.replace(
        hotline.settings, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),)
    )
    client = app.test_client()
    for _ in range(STAFF_SIGN_IN_ACCOUNT_LIMIT):
        # The client wrote the left entry itself; the proxy appended what it saw.
        chain = "6.6.6.6, 198.51.100.1"
        assert login(client, "ana", "guess guess", forwarded_for=chain).status_code == 401
    assert login(client, "ana", PASSWORD, forwarded_for="198.51.100.1").status_code == 429
    # Another client behind the same proxy is another address.
    assert login(client, "ana", PASSWORD, forwarded_for="198.51.100.2").status_code == 302
    addresses = {e.detail["remote_addr"] for e in audit(hotline, "staff.login_failed")}
    assert addresses == {"198.51.100.1"}


def test_client_address_reads_the_forwarded_chain_from_the_right() -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))
    assert client_address("192.0.2.1", ["198.51.100.1"], proxies) == "192.0.2.1"
    assert client_address("10.0.0.2", ["198.51.100.1"], proxies) == "198.51.100.1"
    assert client_address("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.3"], proxies) == (
        "198.51.100.1"
    )
    assert client_address("10.0.0.2", ["6.6.6.6", "198.51.100.1"], proxies) == "198.51.100.1"
    assert client_address("10.0.0.2", [], proxies) == "10.0.0.2"
    assert client_address("10.0.0.2", ["garbage, 10.0.0.3"], proxies) == "10.0.0.3"
    assert client_address("::ffff:10.0.0.2", ["198.51.100.1"], proxies) == "198.51.100.1"
    assert client_address("2001:db8::1", ["[2001:db8:1::5]"], proxies) == "2001:db8:1::5"
    assert client_address("10.0.0.2", ["10.0.0.9," * 5000], proxies).startswith("10.")
    assert client_address("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


def assert_security_headers(response: TestResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.path, name)
    directives = response.headers["Content-Security-Policy"].split("; ")
    assert {"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} <= set(directives)


def test_staff_pages_and_public_endpoints_carry_the_security_headers(
    client: FlaskClient, hotline: Hotline
) -> None:
    assert_security_headers(client.get("/staff/login"))
    assert_security_headers(client.get("/staff/"))  # the redirect to the login page
    assert_security_headers(client.get("/results.json"))
    assert_security_headers(client.get("/healthz"))
    staff_client(client, hotline, StaffRole.ADMIN)
    for page in ("/staff/", "/staff/precincts", "/staff/review", "/staff/accounts"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert_security_headers(response)
    assert_security_headers(client.get("/staff/precincts/999999"))  # a 404 page


def test_the_webhooks_go_without_them(client: FlaskClient) -> None:
    response = client.post("/voice", data={"CallSid": "CA1"})
    assert response.status_code == 403
    assert "Content-Security-Policy" not in response.headers
