"""timer kind: deadline or reminder

Revision ID: 0006_clock
Revises: 0005
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006_clock'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        # timers set before this revision are all deadlines
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False,
                                      server_default='deadline'))


def downgrade() -> None:
    # code before this revision treats every timer as a deadline: reminders must not reach it
    op.execute("DELETE FROM timer WHERE kind <> 'deadline'")
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_column('kind')
