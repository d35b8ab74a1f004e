"""Importing precincts from a CSV: all rows or none, with every bad row named by line.

Accepts `iowa2020_precincts.csv` as it is (county, precinct, precinct_short_name,
precinct_id, is_satellite, delegates_to_elect, sde_per_county_delegate, ...) plus the
optional columns chair_name, chair_phone, pin, closes_at (a site's own scheduled close,
ISO 8601 with its UTC offset, for satellites on other clocks), language (the language its
calls switch to once the precinct is known: en or es) and spoken_name (what a voice says
for the name, where callflows.spoken_names' reading of it will not do).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows.phones import read_number
from callflows.phrases import LANGUAGES
from callflows.spoken_names import spoken_name
from ivr.pins import pin_hmac
from ivr.settings import aware_datetime
from models import AuditEvent, Precinct

REQUIRED_COLUMNS = (
    "county",
    "precinct",
    "precinct_id",
    "delegates_to_elect",
    "sde_per_county_delegate",
)
MAX_SPOKEN_NAME = 200
"""The longest spoken name the file may give (the column's size)."""
FIRST_ASSIGNED_ID = 9001
"""Sites with no precinct ID get one from here when asked to (`--assign-missing-ids`)."""


class ImportFailed(Exception):
    """The file has bad rows; nothing was imported."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} bad row(s); nothing was imported")
        self.errors = errors


@dataclass
class PrecinctRow:
    line: int
    county: str
    name: str
    short_name: str
    precinct_id: str
    is_satellite: bool
    delegates_to_elect: int | None
    sde_per_county_delegate: Decimal | None
    chair_name: str
    chair_phone: str
    pin: str
    closes_at: datetime | None = None
    language: str = ""
    spoken_name: str = ""
    """The file's own spoken name, "" to take the rules' reading of the name."""
    id_assigned: bool = False


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    assigned_ids: list[str] = field(default_factory=list)
    without_chair_phone: int = 0
    """Imported precincts that have no registered chair phone (none in the file and none
    stored before): their reports are held as `unverified`, never committed directly."""


def read_rows(path: Path, *, assign_missing_ids: bool = False) -> list[PrecinctRow]:
    """Parse and check every row; raise ImportFailed listing each bad one by line number."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportFailed([f"line 1: missing column(s): {', '.join(missing)}"])
        rows, errors = _parse_all(reader, assign_missing_ids)
    if errors:
        raise ImportFailed(errors)
    return rows


def _parse_all(
    reader: Iterable[dict[str, str]], assign_missing_ids: bool
) -> tuple[list[PrecinctRow], list[str]]:
    rows: list[PrecinctRow] = []
    errors: list[str] = []
    for line, record in enumerate(reader, start=2):
        problems: list[str] = []
        row = _parse(line, record, problems)
        errors.extend(f"line {line}: {problem}" for problem in problems)
        if row is not None and not problems:
            rows.append(row)
    seen: dict[str, int] = {}
    for row in rows:
        if row.precinct_id and row.precinct_id in seen:
            first = seen[row.precinct_id]
            errors.append(f"line {row.line}: precinct_id {row.precinct_id} is also on line {first}")
        seen.setdefault(row.precinct_id, row.line)
    unassigned = [row for row in rows if not row.precinct_id]
    if unassigned and not assign_missing_ids:
        errors.extend(
            f"line {row.line}: precinct_id is empty (use --assign-missing-ids to assign one)"
            for row in unassigned
        )
    next_id = FIRST_ASSIGNED_ID
    for row in unassigned:
        while str(next_id) in seen:
            next_id += 1
        row.precinct_id = str(next_id)
        row.id_assigned = True
        seen[row.precinct_id] = row.line
    return rows, sorted(errors, key=_line_number)


def _line_number(error: str) -> int:
    return int(error.split(":", 1)[0].removeprefix("line "))


def _parse(line: int, record: dict[str, str], problems: list[str]) -> PrecinctRow | None:
    def text(column: str) -> str:
        return (record.get(column) or "").strip()

    county, name, precinct_id = text("county"), text("precinct"), text("precinct_id")
    if not county:
        problems.append("county is empty")
    if not name:
        problems.append("precinct is empty")
    if precinct_id and not (precinct_id.isdigit() and 4 <= len(precinct_id) <= 7):
        problems.append(f"precinct_id {precinct_id!r} is not 4 to 7 digits")
    is_satellite = text("is_satellite") in ("1", "true", "True", "yes")
    delegates = _whole_number(text("delegates_to_elect"), "delegates_to_elect", problems)
    per_delegate = _decimal(text("sde_per_county_delegate"), problems)
    if delegates is None and not is_satellite and text("delegates_to_elect") == "":
        problems.append("delegates_to_elect is empty (only satellites may leave it empty)")
    if delegates is not None and per_delegate is None and not problems:
        problems.append("sde_per_county_delegate is empty but delegates_to_elect is not")
    phone = _e164(text("chair_phone"), problems)
    pin = text("pin")
    if pin and not (pin.isdigit() and len(pin) == 6):
        problems.append("pin must be exactly 6 digits")
    closes_at = aware_datetime(text("closes_at")) if text("closes_at") else None
    if text("closes_at") and closes_at is None:
        problems.append(
            f"closes_at {text('closes_at')[:40]!r} is not a date and time with its UTC offset"
            " (e.g. 2020-02-03T19:00:00-06:00)"
        )
    language = text("language").lower()
    if language and language not in LANGUAGES:
        spoken = ", ".join(LANGUAGES)
        problems.append(
            f"language {text('language')[:20]!r} is not one the hotline speaks ({spoken})"
        )
    spoken = _spoken_name(text("spoken_name"), problems)
    if problems:
        return None
    return PrecinctRow(
        line=line,
        county=county,
        name=name,
        short_name=text("precinct_short_name"),
        precinct_id=precinct_id,
        is_satellite=is_satellite,
        delegates_to_elect=delegates,
        sde_per_county_delegate=per_delegate,
        chair_name=text("chair_name"),
        chair_phone=phone,
        pin=pin,
        closes_at=closes_at,
        language=language,
        spoken_name=spoken,
    )


def _spoken_name(value: str, problems: list[str]) -> str:
    if value == "":
        return ""
    if len(value) > MAX_SPOKEN_NAME:
        problems.append(f"spoken_name is longer than {MAX_SPOKEN_NAME} characters")
        return ""
    # A control character (a tab, a stray newline from a spreadsheet) would reach the
    # text-to-speech engine as part of what it says.
    if any(unicodedata.category(character).startswith("C") for character in value):
        problems.append(f"spoken_name {value[:40]!r} has a control character")
        return ""
    return value


def _whole_number(value: str, column: str, problems: list[str]) -> int | None:
    if value == "":
        return None
    if not value.isdigit():
        problems.append(f"{column} {value!r} is not a whole number")
        return None
    return int(value)


def _decimal(value: str, problems: list[str]) -> Decimal | None:
    if value == "":
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        problems.append(f"sde_per_county_delegate {value!r} is not a number")
        return None
    if number < 0 or not number.is_finite():
        problems.append(f"sde_per_county_delegate {value!r} is not a positive number")
        return None
    return number


def _e164(value: str, problems: list[str]) -> str:
    if value == "":
        return ""
    phone = read_number(value)
    if not phone.valid:
        # A chair's registered phone must be a real, assigned number: it is how the hotline
        # recognises the chair.
        problems.append(f"chair_phone {value!r} is not a valid phone number")
        return ""
    return phone.e164


def store_rows(session: Session, rows: list[PrecinctRow], pin_key: str, actor: str) -> ImportResult:
    """Create or update precincts by precinct ID, in the caller's transaction."""
    result = ImportResult()
    existing = {p.precinct_id: p for p in session.scalars(select(Precinct))}
    now = datetime.now(UTC)
    for row in rows:
        precinct = existing.get(row.precinct_id)
        if precinct is None:
            precinct = Precinct(precinct_id=row.precinct_id)
            session.add(precinct)
            result.created += 1
        else:
            result.updated += 1
        precinct.county = row.county
        precinct.name = row.name
        precinct.short_name = row.short_name
        precinct.is_satellite = row.is_satellite
        precinct.delegates_to_elect = row.delegates_to_elect
        precinct.sde_per_county_delegate = row.sde_per_county_delegate
        if row.chair_name:
            precinct.chair_name = row.chair_name
        if row.chair_phone:
            precinct.chair_phone = row.chair_phone
        if row.closes_at is not None:
            # In UTC: SQLite keeps no offset, and every comparison is made in UTC.
            precinct.closes_at = row.closes_at.astimezone(UTC)
        if row.language:
            precinct.language = row.language
        precinct.spoken_name = row.spoken_name or spoken_name(row.name, row.county)
        if not precinct.chair_phone:
            result.without_chair_phone += 1
        if row.pin:
            precinct.pin_hmac = pin_hmac(pin_key, row.precinct_id, row.pin)
            precinct.pin_issued_at = now
    result.assigned_ids = [
        f"{row.precinct_id} (line {row.line}: {row.name})" for row in rows if row.id_assigned
    ]
    session.add(
        AuditEvent(
            actor=actor,
            action="precincts.imported",
            subject="precincts",
            detail={
                "created": result.created,
                "updated": result.updated,
                "without_chair_phone": result.without_chair_phone,
            },
        )
    )
    return result
