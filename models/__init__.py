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
    ReportStatus,
)

__all__ = [
    "NEEDS_REVIEW",
    "AuditEvent",
    "Base",
    "BlockedNumber",
    "Call",
    "Election",
    "Precinct",
    "Report",
    "ReportStatus",
    "make_engine",
    "make_session_factory",
]
