"""What an operator does to set up a night, as plain functions of a `Hotline`.

Migrate, register a ballot, import precincts, issue PINs, load the demo election: the
`hotline` command line calls these through thin click commands, and the load tester's
preparation (`hotline flood --prepare`) calls the same functions, so the two cannot drift.
Each function does its work in its own transaction and raises `OperationFailed` (or
`ImportFailed`, with every bad row) with a message for the operator; none prints.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from callflows.ballots import Ballot, load_ballot
from ivr.hotline import Hotline
from ivr.pins import new_pin, pin_hmac
from ivr.precinct_import import ImportResult, read_rows, store_rows
from models import AuditEvent, Election, Precinct
from models.migrations import alembic_config

PINS_COLUMNS = ("precinct_id", "county", "precinct", "chair_name", "chair_phone", "pin")
"""The columns of a pins file (written once, mode 0600)."""


class OperationFailed(Exception):
    """An operation could not be done; the message is one line for the operator."""


@dataclass(frozen=True)
class IssuedPins:
    count: int
    out: Path


def upgrade_database(hotline: Hotline) -> None:
    """Bring the database schema up to date (Alembic, the migrations shipped in `models`)."""
    from alembic import command

    config = alembic_config()
    with hotline.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def register_ballot(hotline: Hotline, name: str | None = None) -> Ballot:
    """Register a ballot (default: the hotline's HOTLINE_BALLOT) as an election."""
    loaded = load_ballot(name or hotline.settings.ballot)
    with hotline.sessions.begin() as session:
        election = session.scalars(select(Election).where(Election.ballot == loaded.name)).first()
        if election is None:
            election = Election(ballot=loaded.name)
            session.add(election)
        election.title = loaded.title
        election.groups = list(loaded.group_names)
    return loaded


def import_precincts(
    hotline: Hotline, file: Path, *, assign_missing_ids: bool, actor: str = "cli"
) -> ImportResult:
    """Import precincts from a CSV: all rows or none (ImportFailed names every bad row)."""
    rows = read_rows(file, assign_missing_ids=assign_missing_ids)
    with hotline.sessions.begin() as session:
        result = store_rows(session, rows, hotline.settings.pin_key, actor=actor)
    hotline.directory.invalidate()
    return result


def issue_pins(
    hotline: Hotline,
    out: Path,
    *,
    precinct_ids: tuple[str, ...] = (),
    missing: bool = False,
    force: bool = False,
    actor: str = "cli",
) -> IssuedPins:
    """Issue new random PINs, written once to `out` (mode 0600); only their HMACs are kept."""
    if out.exists() and not force:
        raise OperationFailed(f"{out} exists; use --force to replace it")
    now = datetime.now(UTC)
    rows: list[dict[str, str]] = []
    with hotline.sessions.begin() as session:
        query = select(Precinct).order_by(Precinct.county, Precinct.name)
        if precinct_ids:
            query = query.where(Precinct.precinct_id.in_(precinct_ids))
        if missing:
            query = query.where(Precinct.pin_hmac.is_(None))
        for precinct in session.scalars(query):
            pin = new_pin()
            precinct.pin_hmac = pin_hmac(hotline.settings.pin_key, precinct.precinct_id, pin)
            precinct.pin_issued_at = now
            rows.append(
                {
                    "precinct_id": precinct.precinct_id,
                    "county": precinct.county,
                    "precinct": precinct.name,
                    "chair_name": precinct.chair_name,
                    "chair_phone": precinct.chair_phone,
                    "pin": pin,
                }
            )
        unknown = set(precinct_ids) - {row["precinct_id"] for row in rows}
        if unknown and not missing:
            raise OperationFailed(f"unknown precinct ID(s): {', '.join(sorted(unknown))}")
        session.add(
            AuditEvent(
                actor=actor, action="pins.issued", subject="precincts", detail={"count": len(rows)}
            )
        )
        # Written inside the transaction: if the file cannot be written, no PIN changes.
        write_private_csv(out, PINS_COLUMNS, rows)
    hotline.directory.invalidate()
    return IssuedPins(len(rows), out)


def write_private_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    """Write a CSV only its owner can read (mode 0600, even if it existed wider)."""
    with _private_file(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def write_private_text(path: Path, text: str) -> None:
    """Write a text file only its owner can read (mode 0600, even if it existed wider)."""
    with _private_file(path) as handle:
        handle.write(text)


def _private_file(path: Path, newline: str | None = None) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # os.open's mode applies only to a file it creates; an old one keeps its own.
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", newline=newline)


DEV_STAFF_NAME = "dev"
"""The staff admin `hotline demo` creates in the dev profile (never in any other)."""
DEV_SIGN_IN_FILE = "dev-sign-in.txt"
"""Where in the instance folder the demo writes that account's sign-in (mode 0600)."""


@dataclass(frozen=True)
class DevSignIn:
    """The way into the staff dashboard of a dev hotline."""

    url: str
    name: str
    password: str = field(repr=False)
    file: Path


def dev_sign_in(hotline: Hotline, *, actor: str = "demo") -> DevSignIn | None:
    """In the dev profile, create or reset the staff admin `dev` with a fresh password and
    write its sign-in to the instance folder's dev-sign-in.txt (mode 0600).

    In any other profile (production, test) it does nothing and returns None: on a real
    hotline an admin whose password lies in a file is a way in nobody chose; its staff are
    added with `hotline staff add`.
    """
    # Imported here: `ivr.staff` loads the whole dashboard, which the other operations (and
    # the load tester's preparation) do not need.
    from ivr.staff import accounts
    from models import StaffRole

    settings = hotline.settings
    if settings.profile != "dev":
        return None
    sign_in = DevSignIn(
        url=f"{settings.public_base_url}/staff/",
        name=DEV_STAFF_NAME,
        password=accounts.generate_password(),
        file=settings.instance_dir / DEV_SIGN_IN_FILE,
    )
    with hotline.sessions.begin() as session:
        user = accounts.find(session, sign_in.name)
        if user is None:
            accounts.add_staff(session, sign_in.name, StaffRole.ADMIN, sign_in.password, actor)
        else:
            # A reset, not a new account: accounts are never deleted (their audit trail).
            accounts.set_password(session, user, sign_in.password, actor)
            if user.role != StaffRole.ADMIN:
                accounts.set_role(session, user, StaffRole.ADMIN, actor)
            if user.disabled:
                accounts.set_disabled(session, user, False, actor)
        # Written inside the transaction: if the file cannot be written, nothing changes.
        write_private_text(
            sign_in.file,
            "# The staff dashboard's dev sign-in, written by `hotline demo` (dev profile only).\n"
            f"url: {sign_in.url}\nname: {sign_in.name}\npassword: {sign_in.password}\n",
        )
    return sign_in
