"""What an operator does to set up a night, as plain functions of a `Hotline`.

Migrate, register a ballot, import precincts, issue PINs, load the demo election: the
`hotline` command line calls these through thin click commands, and the load tester's
preparation (`hotline flood --prepare`) calls the same functions, so the two cannot drift.
Each function does its work in its own transaction and raises `OperationFailed` (or
`ImportFailed`, with every bad row) with a message for the operator; none prints.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
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


def demo_chair_phone(index: int) -> str:
    """The registered chair phone the demo (and the load tester) gives the index-th site of
    a precincts file: a distinct, valid Iowa number, never dialled (the hotline only ever
    compares caller IDs with it). Site 0 of the 2020 file, Adair "1NW ADAIR" (948199),
    gets +15152000000."""
    return f"+1515{2000000 + index:07d}"


def write_precincts_with_phones(source: Path, out: Path) -> int:
    """Copy the precincts file `source` to `out`, the i-th site with the chair phone
    `demo_chair_phone(i)`; returns how many sites it wrote."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = [c for c in reader.fieldnames or [] if c != "chair_phone"] + ["chair_phone"]
    for index, row in enumerate(rows):
        row["chair_phone"] = demo_chair_phone(index)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


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
            pin = issue_precinct_pin(precinct, hotline.settings.pin_key, now)
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


def issue_precinct_pin(precinct: Precinct, pin_key: str, now: datetime | None = None) -> str:
    """Give one precinct a new random PIN and return it: only its HMAC is stored, so the
    caller shows or writes it once. The caller commits the session (and audits)."""
    pin = new_pin()
    precinct.pin_hmac = pin_hmac(pin_key, precinct.precinct_id, pin)
    precinct.pin_issued_at = now or datetime.now(UTC)
    return pin


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
    """`path` opened for writing, emptied, as a regular file of ours with mode 0600.

    Never through a symbolic link (one planted at `path` would send the PINs wherever it
    points), and never into a FIFO, a device, another user's file or a file with a second
    name (a hard link): each is refused with OperationFailed, before anything is written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise OperationFailed(f"{path} is a symbolic link; refusing to write a private file there")
    # O_NOFOLLOW refuses a link planted after the check above too; O_NONBLOCK makes a FIFO
    # fail at once instead of hanging; nothing is truncated before the checks below.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OperationFailed(
                f"{path} is a symbolic link; refusing to write a private file there"
            ) from None
        if error.errno == errno.ENXIO:  # a FIFO (or socket) that nobody reads
            raise OperationFailed(
                f"{path} is not a regular file; refusing to write a private file there"
            ) from None
        raise OperationFailed(f"cannot write {path}: {error.strerror}") from None
    try:
        problem = _not_private(os.fstat(fd))
        if problem:
            raise OperationFailed(f"{path} {problem}; refusing to write a private file there")
        # os.open's mode applies only to a file it creates; an old one keeps its own. The
        # mode is narrowed before the old contents go and before anything new is written.
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "w", newline=newline, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def _not_private(found: os.stat_result) -> str:
    """What makes an opened file unfit to hold secrets, or "" if nothing does."""
    if not stat.S_ISREG(found.st_mode):
        return "is not a regular file"
    if found.st_uid != os.geteuid():
        return "belongs to another user"
    if found.st_nlink > 1:
        return "has another name (a hard link)"
    return ""


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
