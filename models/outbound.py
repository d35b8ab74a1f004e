"""Calls the hotline places itself: rounds to the chairs of precincts with no report, and
callbacks that verify a report whose caller ID the carrier did not attest.

Every try is a row of its own (`OutboundAttempt`), never overwritten but for its progress,
so staff see every call placed and how it ended; a retry is a new row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.entities import utcnow


class Purpose(StrEnum):
    """Why the hotline calls a chair."""

    VERIFY = "verify"
    """A report held as unverified: did the chair make it? Dialled before any straggler."""
    STRAGGLER = "straggler"
    """The precinct has not reported: offer the chair to report now."""
    CALLBACK = "callback"
    """The chair's registered phone used up its PIN tries on calls the carrier did not attest
    (spoofers of the number, perhaps): call it back, where only the chair can answer, and
    offer to take the report. Dialled with verifications, before any straggler."""
    REMINDER = "reminder"
    """Before the night, the chair has no drill that matched: remind them to call the drill
    line (say its number, or leave it on their voicemail)."""


class AttemptState(StrEnum):
    """Where one try stands."""

    DUE = "due"
    """Waiting for its time (`due_at`), a free line and the rate."""
    DIALING = "dialing"
    """The worker has begun asking Twilio to create the call (`dialing_since`) and has not
    yet heard back. After a crash here the call may or may not exist: the dialer looks it up
    by listing the calls to the number since `dialing_since` before it ever dials again."""
    PLACED = "placed"
    """Twilio created the call (`call_sid`); its status callback will say how it ended."""
    ENDED = "ended"
    """The call is over (`outcome`)."""
    SKIPPED = "skipped"
    """Never dialled: the precinct reported meanwhile, the report was settled otherwise,
    or staff stopped the round."""


IN_FLIGHT_STATES = (AttemptState.DIALING.value, AttemptState.PLACED.value)
"""A try whose call is being created or is on the line (the dialer's cap counts them)."""
OPEN_STATES = (AttemptState.DUE.value, *IN_FLIGHT_STATES)
"""A try not yet over: due, or in flight."""


class Outcome(StrEnum):
    """How a try ended, as Twilio's final call status or the reason it was not dialled."""

    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    ERROR = "error"
    """Twilio refused to create the call (the error is kept)."""
    REPORTED = "reported"
    """Skipped: the precinct reported (by any route) before the try was dialled."""
    SETTLED = "settled"
    """Skipped: the report to verify was decided otherwise (a reviewer, an earlier call)."""
    STOPPED = "stopped"
    """Skipped: staff stopped the round."""
    REHEARSAL = "rehearsal"
    """Skipped: the election is in rehearsal and the number is not on the rehearsal
    allow-list (HOTLINE_REHEARSAL_PHONES): a real chair is never dialled in a rehearsal."""
    DRILLED = "drilled"
    """Skipped: the chair to remind has drilled (and matched) since the reminders began."""
    PHONE_CHANGED = "phone_changed"
    """Skipped: the precinct's chair phone was changed since the try was made."""


FINAL_CALL_STATUSES = frozenset(
    {Outcome.COMPLETED, Outcome.BUSY, Outcome.NO_ANSWER, Outcome.FAILED, Outcome.CANCELED}
)
"""Twilio's call statuses after which a call is over."""


class OutboundRound(Base):
    """One round of calls to the chairs of precincts with no report."""

    __tablename__ = "outbound_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[str] = mapped_column(String(100))
    stopped_at: Mapped[datetime | None]
    stopped_by: Mapped[str] = mapped_column(String(100), default="")
    precincts: Mapped[int] = mapped_column(default=0)
    """Precincts with no report and a registered chair phone when the round began."""
    # Recorded while the election was in rehearsal (archived by the switch to live).
    rehearsal: Mapped[bool] = mapped_column(default=False, server_default=false())


class OutboundAttempt(Base):
    """One call the hotline places (or will place) to a chair's registered phone."""

    __tablename__ = "outbound_attempt"
    __table_args__ = (Index("ix_outbound_attempt_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_round.id"), index=True)
    precinct_id: Mapped[str] = mapped_column(String(7), index=True)
    report_id: Mapped[str | None] = mapped_column(String(36), index=True)
    """The report a verification call asks about."""
    to_number: Mapped[str] = mapped_column(String(20))
    try_number: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(16), default=AttemptState.DUE.value)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    dialing_since: Mapped[datetime | None]
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    call_status: Mapped[str] = mapped_column(String(16), default="")
    """Twilio's latest status for the call (queued, ringing, in-progress, completed, ...)."""
    answered_by: Mapped[str] = mapped_column(String(32), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="")
    result: Mapped[str] = mapped_column(String(16), default="")
    """What the call achieved: "confirmed" or "denied" (verification), "" for nothing."""
    api_errors: Mapped[int] = mapped_column(default=0)
    """Times Twilio's REST API failed for this try (each retried after a pause)."""
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # Recorded while the election was in rehearsal (archived by the switch to live).
    rehearsal: Mapped[bool] = mapped_column(default=False, server_default=false())
