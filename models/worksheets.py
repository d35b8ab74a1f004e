"""Worksheets that arrive another way than by phone: text and picture messages to the
hotline's number, and the photos they carry (issue 18).

Every message is kept, whatever it holds (a text, a PDF, a photo nobody can tie to a
precinct): nothing a sender sends is lost. Photos are stored in the database, which every
web node and worker reads, and only then deleted from Twilio.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.entities import utcnow


class PhotoState(StrEnum):
    """Where one item of a message stands."""

    WAITING = "waiting"
    """Not fetched yet (the worker is on it)."""
    STORED = "stored"
    """Fetched and kept here; Twilio's copy deleted."""
    TOO_LARGE = "too_large"
    """Over the size the hotline keeps; left at Twilio, the sender asked for a smaller one."""
    FAILED = "failed"
    """Could not be fetched after every try; left at Twilio, the sender asked to resend."""
    REFUSED = "refused"
    """Not a photo (a PDF, a video): never fetched, left at Twilio, shown to staff."""


class WorksheetMessage(Base):
    """A text or picture message to the hotline's number, as Twilio delivered it."""

    __tablename__ = "worksheet_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str] = mapped_column(String(16), index=True)
    """The number the sender was given in the reply."""
    from_number: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    precinct_id: Mapped[str] = mapped_column(String(7), default="", index=True)
    """"" until tied to a precinct (by the sender's phone, the text, or staff)."""
    tied_by: Mapped[str] = mapped_column(String(16), default="")
    """callflows.worksheet_messages.TiedBy: chair_phone, named, staff, or ""."""
    triage: Mapped[bool] = mapped_column(default=False, index=True)
    """Staff must look at it: no precinct, no photo, or an item that is not one."""
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    rehearsal: Mapped[bool] = mapped_column(default=False)
    report_id: Mapped[str] = mapped_column(String(36), default="")
    """The report its two agreeing (or resolved) entries made, "" until then."""
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    """The reviewer who decided the fields where the two entries differed, if any did."""

    photos: Mapped[list[WorksheetPhoto]] = relationship(
        back_populates="message", order_by="WorksheetPhoto.position"
    )
    entries: Mapped[list[WorksheetEntry]] = relationship(
        back_populates="message", order_by="WorksheetEntry.id"
    )


class WorksheetPhoto(Base):
    """One item of a message: a photo kept here, or why it is not."""

    __tablename__ = "worksheet_photo"
    __table_args__ = (UniqueConstraint("message_pk", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("worksheet_message.id"))
    position: Mapped[int]
    """Its index in the message (Twilio's MediaUrlN)."""
    media_sid: Mapped[str] = mapped_column(String(64), default="")
    media_url: Mapped[str] = mapped_column(String(500), default="")
    """Twilio's URL for it, kept so staff can find what was left at Twilio."""
    content_type: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(16), default=PhotoState.WAITING)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    stored_at: Mapped[datetime | None]
    deleted_at_twilio: Mapped[datetime | None]
    problem: Mapped[str] = mapped_column(Text, default="")
    """Why it is not stored (one line), "" when it is."""

    message: Mapped[WorksheetMessage] = relationship(back_populates="photos")


class WorksheetEntry(Base):
    """One operator's keying of a worksheet (a texted one, or a paper one brought in, kept
    as a message without photos). Two operators key each worksheet, blind to each other."""

    __tablename__ = "worksheet_entry"
    __table_args__ = (UniqueConstraint("message_pk", "operator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("worksheet_message.id"))
    operator: Mapped[str] = mapped_column(String(100))
    """The staff member's name: one entry each, so nobody keys both."""
    figures: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    """{"first": [...], "final": [...], "delegates": [...]} in ballot order."""
    groups: Mapped[list[str]] = mapped_column(JSON)
    keyed_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[WorksheetMessage] = relationship(back_populates="entries")
