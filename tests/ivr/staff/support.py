"""Staff accounts, sign-in and CSRF tokens for dashboard tests."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ivr.hotline import Hotline
from ivr.staff import accounts
from models import (
    PhotoState,
    Precinct,
    Report,
    ReportStatus,
    StaffRole,
    WorksheetEntry,
    WorksheetMessage,
    WorksheetPhoto,
)

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_staff(hotline: Hotline, name: str, role: StaffRole, password: str = PASSWORD) -> None:
    with hotline.sessions.begin() as db:
        accounts.add_staff(db, name, role, password, actor="test")


def csrf_token(client: FlaskClient, path: str = "/staff/login") -> str:
    """The CSRF token of the form on `path` (the session's token, shared by its forms)."""
    page = client.get(path)
    found = TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client)
    return client.post(
        "/staff/login", data={"name": name, "password": password, "csrf_token": token}
    )


def staff_client(
    client: FlaskClient, hotline: Hotline, role: StaffRole, name: str | None = None
) -> FlaskClient:
    """`client`, signed in as a new staff member with `role`."""
    name = name or f"{role.value}-{uuid.uuid4().hex[:6]}"
    add_staff(hotline, name, role)
    response = sign_in(client, name)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post_form(client: FlaskClient, path: str, data: dict[str, str], page: str) -> TestResponse:
    """POST `data` with the CSRF token taken from the form on `page`, as a browser would."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def add_precinct(
    hotline: Hotline,
    precinct_id: str = "100001",
    county: str = "Adair",
    name: str = "1NW ADAIR",
    delegates_to_elect: int | None = 4,
    per_delegate: str = "0.25",
    chair_phone: str = "",
) -> int:
    with hotline.sessions.begin() as db:
        precinct = Precinct(
            precinct_id=precinct_id,
            county=county,
            name=name,
            delegates_to_elect=delegates_to_elect,
            sde_per_county_delegate=Decimal(per_delegate),
            chair_name=f"Chair of {name}",
            chair_phone=chair_phone,
        )
        db.add(precinct)
        db.flush()
        return precinct.id


GROUPS = ["Biden", "Buttigieg", "Sanders", "Warren"]
GOOD_FIGURES = {"first": [10, 12, 8, 10], "final": [10, 12, 8, 10], "delegates": [1, 1, 1, 1]}
"""Figures with no caucus-math finding for a precinct electing 4 delegates."""


def add_report(
    hotline: Hotline,
    precinct_id: str = "100001",
    status: ReportStatus = ReportStatus.FLAGGED,
    figures: dict[str, list[int]] | None = None,
    receipt: str = "111111",
    received_at: datetime | None = None,
    **extra: Any,
) -> str:
    """A report as the worker would store it; returns its id."""
    figures = figures or GOOD_FIGURES
    report_id = str(uuid.uuid4())
    with hotline.sessions.begin() as db:
        precinct = db.scalars(select(Precinct).where(Precinct.precinct_id == precinct_id)).one()
        per = precinct.sde_per_county_delegate or Decimal(0)
        db.add(
            Report(
                id=report_id,
                precinct=precinct,
                call_sid=f"CA{uuid.uuid4().hex}",
                caller="+15155550123",
                receipt=receipt,
                status=status.value,
                ballot="test",
                groups=list(GROUPS),
                figures=figures,
                stated_totals={block: sum(values) for block, values in figures.items()},
                sdes=[
                    str((count * per).quantize(Decimal("0.0001"))) for count in figures["delegates"]
                ],
                flagged_blocks={"first": "total_mismatch"}
                if status == ReportStatus.FLAGGED
                else {},
                findings=[],
                received_at=received_at or datetime.now(UTC),
                **extra,
            )
        )
    return report_id


def add_worksheet_message(
    hotline: Hotline,
    precinct_id: str,
    photo: bytes = b"\xff\xd8\xff\xe0 a JPEG",
    differing_entries: bool = False,
) -> tuple[int, int]:
    """A texted worksheet as the worker stores it (one stored photo), with two operators'
    entries that differ in one field if asked; its and the photo's id."""
    with hotline.sessions.begin() as db:
        message = WorksheetMessage(
            message_sid=f"MM{uuid.uuid4().hex}",
            reference="17",
            from_number="+15155550123",
            body="",
            precinct_id=precinct_id,
            tied_by="chair_phone",
        )
        db.add(message)
        db.flush()
        stored = WorksheetPhoto(
            message_pk=message.id,
            position=0,
            media_sid=f"ME{uuid.uuid4().hex}",
            content_type="image/jpeg",
            state=PhotoState.STORED,
            content=photo,
            size=len(photo),
            stored_at=datetime.now(UTC),
        )
        db.add(stored)
        if differing_entries:
            for operator, first in (("olga", 10), ("omar", 11)):
                figures = {"first": [first, 0], "final": [10, 0], "delegates": [1, 0]}
                db.add(
                    WorksheetEntry(
                        message_pk=message.id, operator=operator, figures=figures, groups=["A", "B"]
                    )
                )
        db.flush()
        return message.id, stored.id
