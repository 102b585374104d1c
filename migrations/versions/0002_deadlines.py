"""step clocks timers calendar

Revision ID: 0002_deadlines
Revises: 0001
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import api.db.types

revision: str = '0002_deadlines'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendarday',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('calendaryear',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('imported_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('clock_generation', sa.Integer(), nullable=False),
    sa.Column('due_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', api.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_fired_at'), ['fired_at'], unique=False)

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('deadline', api.db.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('overdue', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_application_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_overdue'), ['overdue'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_overdue'))
        batch_op.drop_index(batch_op.f('ix_application_deadline'))
        batch_op.drop_column('overdue')
        batch_op.drop_column('deadline')
        batch_op.drop_column('clock')

    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_fired_at'))
        batch_op.drop_index(batch_op.f('ix_timer_due_at'))
        batch_op.drop_index(batch_op.f('ix_timer_application_id'))

    op.drop_table('timer')
    op.drop_table('calendaryear')
    op.drop_table('calendarday')
