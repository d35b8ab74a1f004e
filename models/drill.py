"""Practice calls to the drill line (callflows.drill), kept per precinct.

A table of their own, written only by the drill's own job (queues.drill): a practice
report is never a `Report` nor a `ReportDraft`, so nothing that reads results can count
one, whatever it forgets to filter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.entities import utcnow


class DrillCall(Base):
    """One practice report keyed on the drill line, as the chair keyed it."""

    __tablename__ = "drill_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    precinct_id: Mapped[str] = mapped_column(String(7), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller: Mapped[str] = mapped_column(String(64), default="")
    stir_verstat: Mapped[str] = mapped_column(String(64), default="")
    """The carrier's attestation of the caller ID (Twilio's `StirVerstat`), as sent."""
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    # {"first": [...], "final": [...], "delegates": [...]} on the practice ballot.
    figures: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    # The groups the chair said won the practice game of chance.
    chance: Mapped[list[str]] = mapped_column(JSON, default=list)
    matched: Mapped[bool] = mapped_column(default=False)
    # The figures that differ from the worksheet, "block:Group" (callflows.drill).
    mismatched: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
