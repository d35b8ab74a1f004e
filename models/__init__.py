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
from models.staff import StaffRole, StaffUser

__all__ = [
    "NEEDS_REVIEW",
    "AuditEvent",
    "Base",
    "BlockedNumber",
    "Call",
    "Election",
    "Precinct",
    "Report",
    "ReportDraft",
    "ReportStatus",
    "StaffRole",
    "StaffUser",
    "make_engine",
    "make_session_factory",
]
