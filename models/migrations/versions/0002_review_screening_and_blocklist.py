"""review, screening and blocklist

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('blocked_number',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('added_by', sa.String(length=100), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.String(length=100), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_number'))
    )
    with op.batch_alter_table('blocked_number', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocked_number_number'), ['number'], unique=False)

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caller_class', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('screening', sa.String(length=32), nullable=False, server_default=''))

    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='phone'))
        batch_op.add_column(sa.Column('corrects_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_report_corrects_id_report'), 'report', ['corrects_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_report_corrects_id_report'), type_='foreignkey')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('corrects_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('screening')
        batch_op.drop_column('caller_class')

    with op.batch_alter_table('blocked_number', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocked_number_number'))

    op.drop_table('blocked_number')
