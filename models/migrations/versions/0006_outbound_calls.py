"""outbound calls: rounds to stragglers' chairs and verification callbacks

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbound_round',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by', sa.String(length=100), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stopped_by', sa.String(length=100), nullable=False),
        sa.Column('precincts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'outbound_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=True),
        sa.Column('precinct_id', sa.String(length=7), nullable=False),
        sa.Column('report_id', sa.String(length=36), nullable=True),
        sa.Column('to_number', sa.String(length=20), nullable=False),
        sa.Column('try_number', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dialing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('call_sid', sa.String(length=64), nullable=True),
        sa.Column('call_status', sa.String(length=16), nullable=False),
        sa.Column('answered_by', sa.String(length=32), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('api_errors', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['outbound_round.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid'),
    )
    with op.batch_alter_table('outbound_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_attempt_state_due', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_attempt_precinct_id'), ['precinct_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_attempt_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_attempt_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    op.drop_table('outbound_attempt')
    op.drop_table('outbound_round')
