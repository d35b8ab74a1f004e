"""precinct: the name as a voice says it (issue 17)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('precinct', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('spoken_name', sa.String(length=200), server_default='', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('precinct', schema=None) as batch_op:
        batch_op.drop_column('spoken_name')
