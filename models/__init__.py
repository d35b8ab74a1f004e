"""SQLAlchemy 2.0 typed models and the engine/session setup."""

from models.base import Base
from models.db import make_engine, make_session_factory
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
from models.staff import StaffRole, StaffUser

__all__ = [
    "NEEDS_REVIEW",
    "AttemptState",
    "AuditEvent",
    "Base",
    "BlockedNumber",
    "Call",
    "Election",
    "OutboundAttempt",
    "OutboundRound",
    "Outcome",
    "Precinct",
    "Purpose",
    "Report",
    "ReportDraft",
    "ReportStatus",
    "StaffRole",
    "StaffUser",
    "make_engine",
    "make_session_factory",
]
