"""Template helpers: times in Iowa's zone, numbers with separators, who is signed in."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from sqlalchemy import func, select

from ivr import catalogue
from ivr.hotline import current_hotline
from ivr.staff.access import signed_in_staff
from models import NEEDS_REVIEW, Report, StaffRole


def _display_zone() -> tzinfo:
    """Iowa's time zone: staff read every time on the dashboard in it (UTC if the system
    has no time-zone data, rather than no dashboard)."""
    try:
        return ZoneInfo("America/Chicago")
    except ZoneInfoNotFoundError:
        return UTC


DISPLAY_ZONE = _display_zone()


def language_name(code: str) -> str:
    """A language code as staff read it ("—" for none)."""
    spoken = catalogue.LANGUAGES.get(code)
    return spoken.name if spoken is not None else code or "—"


def when(value: datetime | None, with_date: bool = True) -> str:
    """A stored time in Iowa's zone, e.g. "Feb 3, 21:04:05 CST" (SQLite drops the zone:
    every stored time is UTC)."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(DISPLAY_ZONE)
    return local.strftime("%b %-d, %H:%M:%S %Z" if with_date else "%H:%M:%S %Z")


def epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def number(value: int | float | Decimal | None, places: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{places}f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def _context() -> dict[str, Any]:
    staff = signed_in_staff()
    waiting: int | None = 0
    if staff is not None:
        with current_hotline().sessions() as db:
            waiting = db.scalar(
                select(func.count()).select_from(Report).where(Report.status.in_(NEEDS_REVIEW))
            )
    return {"staff": staff, "roles": StaffRole, "review_waiting": waiting or 0}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        when=when, epoch=epoch, number=number, duration=duration, language_name=language_name
    )
    app.context_processor(_context)
