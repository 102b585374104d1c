"""application drafts saved on the server (the unfinished form, resumed later); user.session_generation

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import api.db.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.create_table('applicationdraft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('workflow_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('form_values', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('applicationdraft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applicationdraft_owner_id'), ['owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('applicationdraft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applicationdraft_owner_id'))

    op.drop_table('applicationdraft')
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): copying the table instead would trip the foreign keys to it
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('session_generation')
