"""staff requests: when a caller last pressed 0 to reach staff, and at which step

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.add_column(sa.Column('staff_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column('staff_step', sa.String(length=64), nullable=False, server_default='')
        )


def downgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.drop_column('staff_step')
        batch.drop_column('staff_requested_at')
