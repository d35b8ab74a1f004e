"""The hotline's tables: election, precinct, call, report and audit event.

Reports are append-only: every submission is a new row, never overwritten, so staff can
always see what a chair actually keyed. PINs are stored only as a keyed HMAC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReportStatus(StrEnum):
    """Where a submitted report stands; only `committed` ones count in the results."""

    COMMITTED = "committed"
    """In the results."""
    FLAGGED = "flagged"
    """The figures fail a check; a reviewer decides."""
    QUARANTINED = "quarantined"
    """Authenticated by PIN from a number other than the chair's; a reviewer decides."""
    UNVERIFIED = "unverified"
    """Authenticated by PIN from the chair's phone on a call the carrier did not attest
    (level A), or for a precinct with no registered phone; held until it is verified (for
    now: a reviewer approves it)."""
    CONFLICT = "conflict"
    """Differs from the precinct's committed report; a reviewer decides."""
    DUPLICATE = "duplicate"
    """The same figures as the precinct's committed report; nothing to do."""
    REJECTED = "rejected"
    """A reviewer refused it."""
    SUPERSEDED = "superseded"
    """A reviewer replaced it with corrected figures (a new report)."""


NEEDS_REVIEW = (
    ReportStatus.FLAGGED,
    ReportStatus.QUARANTINED,
    ReportStatus.UNVERIFIED,
    ReportStatus.CONFLICT,
)


class Election(Base):
    """One election night, defined by a ballot file (groups in ballot order)."""

    __tablename__ = "election"

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    groups: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Precinct(Base):
    """A caucus site (regular precinct or satellite) and the chair who reports for it."""

    __tablename__ = "precinct"

    id: Mapped[int] = mapped_column(primary_key=True)
    precinct_id: Mapped[str] = mapped_column(String(7), unique=True)
    county: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(50), default="")
    is_satellite: Mapped[bool] = mapped_column(default=False)
    # Unknown for satellites whose delegates depend on turnout.
    delegates_to_elect: Mapped[int | None]
    sde_per_county_delegate: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    chair_name: Mapped[str] = mapped_column(String(200), default="")
    chair_phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    pin_hmac: Mapped[str | None] = mapped_column(String(64))
    pin_issued_at: Mapped[datetime | None]
    # When this site's caucus is scheduled to close, where it differs from the election's
    # (HOTLINE_CAUCUS_CLOSES_AT): satellites abroad close on their own clocks.
    closes_at: Mapped[datetime | None]
    # The language its calls switch to once the precinct is known ("" for none, "es").
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # What a voice says for the name ("" until an import fills it): callflows.spoken_names'
    # reading of it, or the import file's own spoken_name.
    spoken_name: Mapped[str] = mapped_column(String(200), default="", server_default="")

    reports: Mapped[list[Report]] = relationship(back_populates="precinct")


class Call(Base):
    """A phone call to the hotline, as reported by Twilio's webhooks."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(64), default="")
    to_number: Mapped[str] = mapped_column(String(64), default="")
    stir_verstat: Mapped[str] = mapped_column(String(64), default="")
    precinct_id: Mapped[str | None] = mapped_column(String(7), index=True)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32), default="in-progress")
    duration_seconds: Mapped[int | None]
    # How screening at /voice classified the caller, and what it decided (see queues/screening).
    caller_class: Mapped[str] = mapped_column(String(32), default="")
    screening: Mapped[str] = mapped_column(String(32), default="")
    # The last time the caller pressed 0 at a menu to reach staff, and at which step.
    staff_requested_at: Mapped[datetime | None]
    staff_step: Mapped[str] = mapped_column(String(64), default="")
    # The language the call was in when it ended ("" for a call that ended unanswered).
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # Recorded while the election was in rehearsal (archived by the switch to live).
    rehearsal: Mapped[bool] = mapped_column(default=False, server_default=false())


class Report(Base):
    """One submission of a precinct's figures; its id is the rq job id that committed it."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_precinct_received", "precinct_pk", "received_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    precinct_pk: Mapped[int] = mapped_column(ForeignKey("precinct.id"))
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    caller: Mapped[str] = mapped_column(String(64), default="")
    # The carrier's attestation of the caller ID on the report's call (Twilio's StirVerstat).
    stir_verstat: Mapped[str] = mapped_column(String(64), default="")
    # Reserved in Redis when issued; not unique here, so a rare clash can never block a commit.
    receipt: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    ballot: Mapped[str] = mapped_column(String(64))
    groups: Mapped[list[str]] = mapped_column(JSON)
    # {"first": [...], "final": [...], "delegates": [...]} in ballot order.
    figures: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    # The totals the chair keyed from the worksheet, per block.
    stated_totals: Mapped[dict[str, int]] = mapped_column(JSON)
    # SDEs as strings with 4 decimals, in ballot order (JSON has no decimal type).
    sdes: Mapped[list[str]] = mapped_column(JSON)
    # Blocks the chair chose to submit flagged, with why: {"first": "total_mismatch"}.
    flagged_blocks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime]
    committed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "phone" for a chair's call; "staff" for figures a reviewer entered as a correction;
    # "operator" for a worksheet two operators keyed (issue 18).
    source: Mapped[str] = mapped_column(String(16), default="phone")
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("report.id"))
    # Issue 18's reconciliation of the phone and the worksheet: the other channel's report
    # of the precinct that has the same figures, or the one whose figures differ ("" none).
    reconciled_with: Mapped[str] = mapped_column(String(36), default="", server_default="")
    differs_from: Mapped[str] = mapped_column(String(36), default="", server_default="")
    reviewed_by: Mapped[str] = mapped_column(String(100), default="")
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")
    # Recorded while the election was in rehearsal (archived by the switch to live).
    rehearsal: Mapped[bool] = mapped_column(default=False, server_default=false())

    precinct: Mapped[Precinct] = relationship(back_populates="reports")


class ReportDraft(Base):
    """The blocks a chair has completed on a report not yet submitted, kept so a chair can
    resume after a dropped call even if Redis lost the call's state."""

    __tablename__ = "report_draft"
    __table_args__ = (UniqueConstraint("precinct_id", "caller"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    precinct_id: Mapped[str] = mapped_column(String(7))
    # Only the phone that keyed the blocks is offered to resume them.
    caller: Mapped[str] = mapped_column(String(64))
    call_sid: Mapped[str] = mapped_column(String(64))
    # {"first": {"figures": [...], "total": 40, "flagged": ""}, ...}
    blocks: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Recorded while the election was in rehearsal (archived by the switch to live).
    rehearsal: Mapped[bool] = mapped_column(default=False, server_default=false())


class BlockedNumber(Base):
    """A phone number refused at the door (`<Reject>`); entries are never deleted, only lifted."""

    __tablename__ = "blocked_number"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_by: Mapped[str] = mapped_column(String(100), default="")
    lifted_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Something that changed the results or who may report them, and who did it."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
