"""SQLAlchemy 2.0 typed models and the engine/session setup."""

from models.base import Base
from models.db import make_engine, make_session_factory
from models.drill import DrillCall
from models.entities import (
    NEEDS_REVIEW,
    AuditEvent,
    BlockedNumber,
    Call,
    Election,
    Precinct,
    Report,
    ReportDraft,
    ReportStatus,
)
from models.outbound import (
    AttemptState,
    OutboundAttempt,
    OutboundRound,
    Outcome,
    Purpose,
)
from models.rehearsal import ElectionMode, Mode, RehearsalArchive, ZeroReport
from models.staff import StaffRole, StaffUser
from models.worksheets import PhotoState, WorksheetEntry, WorksheetMessage, WorksheetPhoto

__all__ = [
    "NEEDS_REVIEW",
    "AttemptState",
    "AuditEvent",
    "Base",
    "BlockedNumber",
    "Call",
    "DrillCall",
    "Election",
    "ElectionMode",
    "Mode",
    "OutboundAttempt",
    "OutboundRound",
    "Outcome",
    "PhotoState",
    "Precinct",
    "Purpose",
    "RehearsalArchive",
    "Report",
    "ReportDraft",
    "ReportStatus",
    "StaffRole",
    "StaffUser",
    "WorksheetEntry",
    "WorksheetMessage",
    "WorksheetPhoto",
    "ZeroReport",
    "make_engine",
    "make_session_factory",
]
