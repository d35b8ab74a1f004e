"""election mode: rehearsal marks, the switch to live and its zero report

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKED = ('report', 'report_draft', 'call', 'outbound_round', 'outbound_attempt')
"""The tables whose rows say whether they were recorded in rehearsal."""


def upgrade() -> None:
    for table in MARKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('rehearsal', sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    mode_table = op.create_table(
        'election_mode',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('changed_by', sa.String(length=100), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'rehearsal_archive',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('archived_by', sa.String(length=100), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'zero_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
        sa.Column('archive_id', sa.Integer(), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('blocklist_to_review', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    # A database that already holds a report keeps counting as before (live); any other
    # starts in rehearsal, as a new one does, and what it holds is rehearsal data.
    connection = op.get_bind()
    has_reports = connection.execute(sa.text('SELECT 1 FROM report LIMIT 1')).first() is not None
    mode = 'live' if has_reports else 'rehearsal'
    if not has_reports:
        for table in MARKED:
            op.execute(sa.text(f'UPDATE "{table}" SET rehearsal = :yes').bindparams(yes=True))
    op.execute(
        mode_table.insert().values(
            id=1, mode=mode, changed_by='migration 0010', changed_at=datetime.now(UTC)
        )
    )


def downgrade() -> None:
    op.drop_table('zero_report')
    op.drop_table('rehearsal_archive')
    op.drop_table('election_mode')
    for table in reversed(MARKED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('rehearsal')
