"""`hotline demo` shows the way in: a staff admin `dev` in the dev profile, never elsewhere."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from ivr import create_app, operations
from ivr.cli import cli
from ivr.hotline import Hotline
from models import AuditEvent, StaffRole, StaffUser
from tests.ivr.staff.support import add_staff, sign_in

AppIn = Callable[[str], Flask]


@pytest.fixture
def app_in(hotline: Hotline) -> Iterator[AppIn]:
    """Apps on the test's database and Redis, in the profile asked for."""
    made: list[Flask] = []

    def make(profile: str) -> Flask:
        app = create_app(replace(hotline.settings, profile=profile))
        made.append(app)
        return app

    yield make
    for app in made:
        other: Hotline = app.extensions["hotline"]
        other.engine.dispose()
        other.redis.close()


def staff_names(hotline: Hotline) -> list[str]:
    with hotline.sessions() as session:
        return list(session.scalars(select(StaffUser.name)))


def signs_in(app: Flask, name: str, password: str) -> bool:
    return sign_in(app.test_client(), name, password).status_code == 302


def test_the_dev_profile_gets_an_admin_that_signs_in_and_a_private_file(
    app_in: AppIn, hotline: Hotline
) -> None:
    app = app_in("dev")
    found = operations.dev_sign_in(app.extensions["hotline"])
    assert found is not None
    assert (found.name, found.url) == ("dev", f"{hotline.settings.public_base_url}/staff/")
    assert found.password not in repr(found)
    assert signs_in(app, "dev", found.password)
    with hotline.sessions() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.name == "dev")).one()
        assert user.role == StaffRole.ADMIN
    assert found.file == hotline.settings.instance_dir / "dev-sign-in.txt"
    assert stat.S_IMODE(found.file.stat().st_mode) == 0o600
    lines = found.file.read_text().splitlines()
    assert f"url: {found.url}" in lines
    assert "name: dev" in lines
    assert f"password: {found.password}" in lines


def test_each_demo_resets_the_password_and_the_account_to_an_enabled_admin(
    app_in: AppIn, hotline: Hotline
) -> None:
    app = app_in("dev")
    dev_hotline: Hotline = app.extensions["hotline"]
    first = operations.dev_sign_in(dev_hotline)
    assert first is not None
    with hotline.sessions.begin() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.name == "dev")).one()
        user.role, user.disabled = StaffRole.VIEWER.value, True
    first.file.chmod(0o644)
    second = operations.dev_sign_in(dev_hotline)
    assert second is not None and second.password != first.password
    assert not signs_in(app, "dev", first.password)
    assert signs_in(app, "dev", second.password)
    assert staff_names(hotline) == ["dev"]
    assert stat.S_IMODE(second.file.stat().st_mode) == 0o600
    with hotline.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"staff.added", "staff.password_reset", "staff.role_changed", "staff.enabled"} <= (
        actions
    )


@pytest.mark.parametrize("profile", ["production", "test"])
def test_no_other_profile_gets_the_account(app_in: AppIn, hotline: Hotline, profile: str) -> None:
    app = app_in(profile)
    assert operations.dev_sign_in(app.extensions["hotline"]) is None
    assert staff_names(hotline) == []
    assert not (hotline.settings.instance_dir / "dev-sign-in.txt").exists()


def test_a_production_demo_creates_no_account_and_prints_no_sign_in(
    app_in: AppIn, hotline: Hotline, tmp_path: Path
) -> None:
    add_staff(hotline, "someone", StaffRole.ADMIN)
    app = app_in("production")
    result = app.test_cli_runner().invoke(cli, ["demo", "--pins-out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert "staff dashboard" not in result.output
    assert staff_names(hotline) == ["someone"]


def test_a_dev_demo_prints_the_dashboard_and_a_sign_in_that_works(
    app_in: AppIn, hotline: Hotline, tmp_path: Path
) -> None:
    app = app_in("dev")
    result = app.test_cli_runner().invoke(cli, ["demo", "--pins-out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "staff dashboard" in line)
    assert line.startswith(f"staff dashboard: {hotline.settings.public_base_url}/staff/  ")
    password = line.split("sign in as dev / ", 1)[1].split()[0]
    assert f"password: {password}" in (tmp_path / "dev-sign-in.txt").read_text().splitlines()
    assert signs_in(app, "dev", password)
