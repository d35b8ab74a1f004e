"""Fixing a chair's night: a substitute chair's phone, a reissued PIN, a lifted PIN lock,
from the precinct page (admins only) and from the command line, every one audited."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from ivr.cli import cli
from ivr.directory import PrecinctDirectory
from ivr.hotline import Hotline
from ivr.pins import pin_hmac, pin_matches
from models import AuditEvent, Precinct, StaffRole
from queues import keys, pin_guard
from tests.ivr.staff.support import add_precinct, post_form, staff_client

PAGE = "/staff/precincts/100001"
OLD_PHONE = "+15155550101"
NEW_PIN = re.compile(r'id="new-pin">(\d{6})<')


@pytest.fixture
def precinct(hotline: Hotline) -> str:
    add_precinct(hotline, chair_phone=OLD_PHONE)
    with hotline.sessions.begin() as db:
        row = db.scalars(select(Precinct).where(Precinct.precinct_id == "100001")).one()
        row.pin_hmac = pin_hmac(hotline.settings.pin_key, "100001", "123456")
    return "100001"


def stored(hotline: Hotline) -> Precinct:
    with hotline.sessions() as db:
        return db.scalars(select(Precinct).where(Precinct.precinct_id == "100001")).one()


def events(hotline: Hotline) -> list[AuditEvent]:
    with hotline.sessions() as db:
        query = select(AuditEvent).where(AuditEvent.subject == "precinct:100001")
        return list(db.scalars(query.order_by(AuditEvent.id)))


def lock(hotline: Hotline) -> None:
    hotline.redis.set(keys.precinct_locked("100001"), 1)
    hotline.redis.set(keys.pin_failures("precinct", "100001"), 10)


# --- the precinct page ------------------------------------------------------------------


def test_an_admin_registers_a_substitute_chairs_phone(
    client: FlaskClient, hotline: Hotline, precinct: str
) -> None:
    # A directory that would serve its copy for an hour unless told to reload.
    hotline.directory = PrecinctDirectory(hotline.sessions, max_age=3600)
    entry = hotline.directory.get(precinct)
    assert entry is not None and entry.chair_phone == OLD_PHONE
    staff_client(client, hotline, StaffRole.ADMIN, name="ana")
    assert 'id="chair-phone-form"' in client.get(PAGE).get_data(as_text=True)
    form = {"number": "(515) 555-0177", "chair_name": "Sam Substitute", "reason": "chair is ill"}
    response = post_form(client, f"{PAGE}/chair-phone", form, PAGE)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "+15155550177 is now the chair&#39;s registered phone" in page
    assert (stored(hotline).chair_phone, stored(hotline).chair_name) == (
        "+15155550177",
        "Sam Substitute",
    )
    entry = hotline.directory.get(precinct)
    assert entry is not None and entry.chair_phone == "+15155550177"
    (event,) = events(hotline)
    assert (event.actor, event.action, event.note) == (
        "staff:ana",
        "precinct.chair_phone_set",
        "chair is ill",
    )
    assert event.detail["previous"] == OLD_PHONE and event.detail["phone"] == "+15155550177"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"number": "555-1234", "reason": "x"}, "is not a valid phone number"),
        ({"number": "+1 515 555 0177" + "9" * 5000, "reason": "x"}, "is not a valid phone"),
        ({"number": "(515) 555-0177", "reason": "  "}, "Give a reason"),
        ({"number": "(515) 555-0177", "reason": "bad\x00byte"}, "control characters"),
        ({"number": "(515) 555-0177", "reason": "r" * 5000}, "at most 1000 characters"),
        ({"number": "(515) 555-0177", "reason": "x", "chair_name": "\x00"}, "control characters"),
    ],
)
def test_a_bad_phone_or_reason_is_refused_and_nothing_changes(
    client: FlaskClient, hotline: Hotline, precinct: str, form: dict[str, str], message: str
) -> None:
    staff_client(client, hotline, StaffRole.ADMIN)
    response = post_form(client, f"{PAGE}/chair-phone", form, PAGE)
    assert response.status_code == 303
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert stored(hotline).chair_phone == OLD_PHONE
    assert events(hotline) == []


def test_an_admin_reissues_a_pin_shown_once(
    client: FlaskClient, hotline: Hotline, precinct: str
) -> None:
    staff_client(client, hotline, StaffRole.ADMIN, name="ana")
    response = post_form(client, f"{PAGE}/pin", {"reason": "chair lost the sheet"}, PAGE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    found = NEW_PIN.search(response.get_data(as_text=True))
    assert found
    pin = found.group(1)
    key = hotline.settings.pin_key
    assert pin_matches(key, precinct, pin, stored(hotline).pin_hmac)
    assert not pin_matches(key, precinct, "123456", stored(hotline).pin_hmac)
    # Never stored in the clear, never shown again.
    (event,) = events(hotline)
    assert (event.actor, event.action, event.note) == (
        "staff:ana",
        "precinct.pin_reissued",
        "chair lost the sheet",
    )
    assert pin not in repr(event.detail)
    assert NEW_PIN.search(client.get(PAGE).get_data(as_text=True)) is None


def test_an_admin_lifts_a_pin_lock(client: FlaskClient, hotline: Hotline, precinct: str) -> None:
    lock(hotline)
    staff_client(client, hotline, StaffRole.ADMIN, name="ana")
    assert "<strong>locked</strong>" in client.get(PAGE).get_data(as_text=True)
    response = post_form(client, f"{PAGE}/unlock", {"reason": "chair called us"}, PAGE)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lifted the PIN lock of precinct 100001" in page
    assert not pin_guard.precinct_locked(hotline.redis, precinct)
    assert hotline.redis.get(keys.pin_failures("precinct", precinct)) is None
    (event,) = events(hotline)
    assert (event.actor, event.action, event.detail) == (
        "staff:ana",
        "precinct.pin_unlocked",
        {"was_locked": True},
    )


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.REVIEWER])
def test_only_an_admin_may_fix_a_night(
    client: FlaskClient, hotline: Hotline, precinct: str, role: StaffRole
) -> None:
    lock(hotline)
    staff_client(client, hotline, role)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="chair-phone-form"' not in page and 'id="reissue-pin-form"' not in page
    for action, form in (
        ("chair-phone", {"number": "(515) 555-0177", "reason": "x"}),
        ("pin", {"reason": "x"}),
        ("unlock", {"reason": "x"}),
    ):
        assert post_form(client, f"{PAGE}/{action}", form, PAGE).status_code == 403, action
    assert stored(hotline).chair_phone == OLD_PHONE
    assert pin_guard.precinct_locked(hotline.redis, precinct)
    assert events(hotline) == []


def test_an_unknown_precinct_is_a_404(client: FlaskClient, hotline: Hotline) -> None:
    staff_client(client, hotline, StaffRole.ADMIN)
    for precinct_id in ("999999", "%00", "1" * 50, "10%0A"):
        assert client.get(f"/staff/precincts/{precinct_id}").status_code == 404, precinct_id
        response = post_form(
            client, f"/staff/precincts/{precinct_id}/pin", {"reason": "x"}, "/staff/"
        )
        assert response.status_code == 404, precinct_id


# --- the command line -------------------------------------------------------------------


def test_the_command_line_sets_a_phone_reissues_a_pin_and_unlocks_audited(
    runner: FlaskCliRunner, hotline: Hotline, precinct: str
) -> None:
    result = runner.invoke(
        cli, ["precincts", "set-phone", precinct, "(515) 555-0177", "--reason", "substitute"]
    )
    assert result.exit_code == 0, result.output
    assert "+15155550177" in result.output
    assert stored(hotline).chair_phone == "+15155550177"

    result = runner.invoke(cli, ["pins", "reissue", precinct, "--reason", "lost it"])
    assert result.exit_code == 0, result.output
    pins = re.findall(r"\b\d{6}\b", result.output.replace(precinct, ""))
    assert len(pins) == 1
    assert pin_matches(hotline.settings.pin_key, precinct, pins[0], stored(hotline).pin_hmac)

    lock(hotline)
    result = runner.invoke(cli, ["pins", "unlock", precinct, "--reason", "chair called"])
    assert result.exit_code == 0, result.output
    assert "lifted its PIN lock" in result.output
    assert not pin_guard.precinct_locked(hotline.redis, precinct)

    assert [(e.actor, e.action, e.note) for e in events(hotline)] == [
        ("cli", "precinct.chair_phone_set", "substitute"),
        ("cli", "precinct.pin_reissued", "lost it"),
        ("cli", "precinct.pin_unlocked", "chair called"),
    ]
    assert pins[0] not in repr([e.detail for e in events(hotline)])


def test_the_command_line_needs_a_reason_and_a_real_precinct(
    runner: FlaskCliRunner, hotline: Hotline, precinct: str
) -> None:
    assert runner.invoke(cli, ["pins", "reissue", precinct]).exit_code == 2
    missing = runner.invoke(cli, ["pins", "unlock", "999999", "--reason", "x"])
    assert missing.exit_code == 1 and "there is no precinct 999999" in missing.output
    bad = runner.invoke(cli, ["precincts", "set-phone", precinct, "555-1234", "--reason", "x"])
    assert bad.exit_code == 1 and "not a valid phone number" in bad.output
    assert events(hotline) == []
