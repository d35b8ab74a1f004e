"""Staff accounts: the service, and `hotline staff add`."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.staff import accounts
from models import AuditEvent, StaffRole, StaffUser
from tests.ivr.staff.support import PASSWORD, add_staff


def test_passwords_are_stored_only_as_scrypt_hashes(hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.REVIEWER)
    with hotline.sessions() as db:
        user = db.scalars(select(StaffUser)).one()
    assert user.role == "reviewer" and not user.disabled
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_sign_in_checks_the_password_and_audits_failures_without_it(hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    with hotline.sessions.begin() as db:
        assert accounts.sign_in(db, "ana", "wrong password!!", "10.0.0.1") is None
        assert accounts.sign_in(db, "nobody", PASSWORD, "10.0.0.1") is None
        user = accounts.sign_in(db, "ana", PASSWORD, "10.0.0.1")
        assert user is not None and user.last_login_at is not None
    with hotline.sessions() as db:
        events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    failed = [e for e in events if e.action == "staff.login_failed"]
    assert [(e.subject, e.detail["reason"]) for e in failed] == [
        ("staff:ana", "wrong password"),
        ("staff:nobody", "unknown name"),
    ]
    assert all(e.actor == "anonymous" and e.detail["remote_addr"] == "10.0.0.1" for e in failed)
    for event in events:
        assert "wrong password!!" not in repr(event.detail) + event.note
        assert PASSWORD not in repr(event.detail) + event.note
    assert events[-1].action == "staff.login"


def test_a_disabled_account_cannot_sign_in_and_is_kept(hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.ADMIN)
    add_staff(hotline, "bo", StaffRole.VIEWER)
    with hotline.sessions.begin() as db:
        bo = accounts.find(db, "bo")
        assert bo is not None
        accounts.set_disabled(db, bo, True, "staff:ana")
    with hotline.sessions.begin() as db:
        assert accounts.sign_in(db, "bo", PASSWORD, "") is None
        assert accounts.find(db, "bo") is not None
        reasons = db.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "staff.login_failed")
        ).all()
    assert reasons == [{"reason": "disabled", "remote_addr": ""}]


def test_no_one_disables_or_demotes_themselves(hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.ADMIN)
    with hotline.sessions.begin() as db:
        ana = accounts.find(db, "ana")
        assert ana is not None
        with pytest.raises(accounts.AccountError):
            accounts.set_disabled(db, ana, True, "staff:ana")
        with pytest.raises(accounts.AccountError):
            accounts.set_role(db, ana, StaffRole.VIEWER, "staff:ana")


@pytest.mark.parametrize(
    ("name", "role", "password", "complaint"),
    [
        ("ana", "viewer", "short", "at least 12"),
        ("ana", "boss", PASSWORD, "role must be one of"),
        ("two words", "viewer", PASSWORD, "without spaces"),
        ("x" * 65, "viewer", PASSWORD, "1 to 64"),
    ],
)
def test_bad_accounts_are_refused(
    hotline: Hotline, name: str, role: str, password: str, complaint: str
) -> None:
    with hotline.sessions.begin() as db, pytest.raises(accounts.AccountError, match=complaint):
        accounts.add_staff(db, name, role, password, "test")


def test_names_are_unique(hotline: Hotline) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    with pytest.raises(accounts.AccountError, match="already"):
        add_staff(hotline, "ana", StaffRole.ADMIN)


def test_staff_add_generates_a_password_and_prints_it_once(
    runner: FlaskCliRunner, hotline: Hotline
) -> None:
    result = runner.invoke(cli, ["staff", "add", "ana", "--role", "admin", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password (shown once): ")[1].strip()
    assert len(password) >= accounts.MIN_PASSWORD_LENGTH
    with hotline.sessions.begin() as db:
        user = accounts.sign_in(db, "ana", password, "")
        assert user is not None and user.role == "admin"
        added = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.added")).one()
    assert (added.actor, added.subject, added.detail) == ("cli", "staff:ana", {"role": "admin"})
    assert password not in repr(added.detail)


def test_staff_add_prompts_for_the_password_twice(runner: FlaskCliRunner, hotline: Hotline) -> None:
    typed = "a long enough password\na long enough password\n"
    result = runner.invoke(cli, ["staff", "add", "bo", "--role", "reviewer"], input=typed)
    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    with hotline.sessions.begin() as db:
        assert accounts.sign_in(db, "bo", "a long enough password", "") is not None


def test_staff_add_refuses_a_taken_name_and_disable_keeps_the_account(
    runner: FlaskCliRunner, hotline: Hotline
) -> None:
    add_staff(hotline, "ana", StaffRole.VIEWER)
    result = runner.invoke(cli, ["staff", "add", "ana", "--role", "admin", "--generate"])
    assert result.exit_code != 0 and "already" in result.output
    assert runner.invoke(cli, ["staff", "disable", "ana"]).exit_code == 0
    listed = runner.invoke(cli, ["staff", "list"]).output
    assert listed == "ana\tviewer\tdisabled\n"
    assert runner.invoke(cli, ["staff", "enable", "ana"]).exit_code == 0
    assert runner.invoke(cli, ["staff", "list"]).output == "ana\tviewer\tenabled\n"
