"""languages: a precinct's default language, and the language each call ended in

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('precinct', 'call'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('language', sa.String(length=8), server_default='', nullable=False)
            )


def downgrade() -> None:
    for table in ('call', 'precinct'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('language')
