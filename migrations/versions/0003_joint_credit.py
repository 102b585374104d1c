"""joint review and credit records

Revision ID: 0003
Revises: 0002_deadlines, 0002_webhooks
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import api.db.types

revision: str = '0003'
down_revision: tuple[str, ...] = ('0002_deadlines', '0002_webhooks')  # merges the two heads
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('creditrecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('obtained_by_fraud', sa.Boolean(), nullable=False),
    sa.Column('bar_until', sa.Date(), nullable=False),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('lifted_at', api.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('creditrecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_creditrecord_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_creditrecord_organisation'), ['organisation'], unique=False)

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joint', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('joint')

    with op.batch_alter_table('creditrecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_creditrecord_organisation'))
        batch_op.drop_index(batch_op.f('ix_creditrecord_application_id'))

    op.drop_table('creditrecord')
