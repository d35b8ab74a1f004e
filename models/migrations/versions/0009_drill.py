"""drill line: practice calls kept per precinct

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'drill_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('precinct_id', sa.String(length=7), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('caller', sa.String(length=64), nullable=False),
        sa.Column('stir_verstat', sa.String(length=64), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('chance', sa.JSON(), nullable=False),
        sa.Column('matched', sa.Boolean(), nullable=False),
        sa.Column('mismatched', sa.JSON(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_call')),
        sa.UniqueConstraint('call_sid', name=op.f('uq_drill_call_call_sid')),
    )
    with op.batch_alter_table('drill_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_call_precinct_id'), ['precinct_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('drill_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_call_precinct_id'))
    op.drop_table('drill_call')
