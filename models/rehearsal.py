"""The election's mode (rehearsal, opening, live) and what the switch to live keeps: the
archive of the rehearsal's data and the zero report that proves the live count starts empty.

The mode is state of the election, not a setting: one row here (who changed it, when),
mirrored in Redis for the call path (`queues.election_mode`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.entities import utcnow


class Mode(StrEnum):
    """What the hotline is doing with the calls it gets."""

    REHEARSAL = "rehearsal"
    """Everything recorded is marked as rehearsal and archived before going live; the
    outbound caller dials only the rehearsal allow-list."""
    OPENING = "opening"
    """The switch to live is draining: calls in progress finish (still rehearsal), new calls
    hear that the hotline opens in a moment and hold."""
    LIVE = "live"
    """The count."""


class ElectionMode(Base):
    """The one row saying the election's mode (id 1); no row is `rehearsal`, as for a new
    database, so an emptied table can never start counting."""

    __tablename__ = "election_mode"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(100), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RehearsalArchive(Base):
    """The rehearsal's rows, as JSON, taken out of the live tables by the switch to live."""

    __tablename__ = "rehearsal_archive"

    id: Mapped[int] = mapped_column(primary_key=True)
    archived_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_by: Mapped[str] = mapped_column(String(100))
    # {"report": 12, "call": 40, ...}: rows archived per table.
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # {"report": [{column: value, ...}, ...], ...}
    rows: Mapped[dict[str, list[dict[str, Any]]]] = mapped_column(JSON, default=dict)


class ZeroReport(Base):
    """What the results-bearing tables held just after the archive (every count 0), with
    the precincts and PINs the night starts with: kept, and downloadable by staff."""

    __tablename__ = "zero_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    archive_id: Mapped[int | None]
    # {"report": 0, ..., "precincts": 1765, "pins_issued": 1765}
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Blocklist entries added during the rehearsal, still active, an admin has not yet kept
    # or dropped (ids of blocked_number rows).
    blocklist_to_review: Mapped[list[int]] = mapped_column(JSON, default=list)
