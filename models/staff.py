"""Staff accounts for the dashboard: who may read, key worksheets, review and administer.

Accounts are disabled, never deleted, so every audit event keeps naming a real account.
Only a password hash is stored (werkzeug's scrypt), never the password.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.entities import utcnow


class StaffRole(StrEnum):
    """What a staff member may do; each role may also do everything of the ones before it."""

    VIEWER = "viewer"
    """Reads every page (texted worksheets' photos included)."""
    OPERATOR = "operator"
    """Also keys worksheets (issue 18's double entry); never reviews nor approves."""
    REVIEWER = "reviewer"
    """Also approves, rejects and corrects reports, and decides where two entries of a
    worksheet differ (never on a worksheet they keyed themselves)."""
    ADMIN = "admin"
    """Also manages the blocklist and staff accounts."""


ROLE_ORDER = (StaffRole.VIEWER, StaffRole.OPERATOR, StaffRole.REVIEWER, StaffRole.ADMIN)


class StaffUser(Base):
    """One staff member's login."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    def may(self, role: StaffRole) -> bool:
        """True when this account's role includes `role` (and it is not disabled)."""
        return not self.disabled and ROLE_ORDER.index(StaffRole(self.role)) >= ROLE_ORDER.index(
            role
        )
