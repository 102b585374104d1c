"""webhooks: transactional outbox, subscriptions, deliveries and their log, inbound hook sources

Revision ID: 0002_webhooks
Revises: 0001
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import api.db.types

revision: str = '0002_webhooks'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outboxevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outboxevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outboxevent_application_id'), ['application_id'], unique=False)

    op.create_table('webhooksubscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('workflow', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('previous_secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('previous_secret_expires_at', api.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('webhookdelivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('outbox_event_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('leased_until', api.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('last_latency_ms', sa.Integer(), nullable=True),
    sa.Column('delivered_at', api.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_event_id'], ['outboxevent.id'], ),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhooksubscription.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhookdelivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhookdelivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhookdelivery_lane', ['subscription_id', 'application_id', 'status'], unique=False)

    op.create_table('webhookattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhookdelivery.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhookattempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhookattempt_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('hooksource',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', api.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('hooksource')
    with op.batch_alter_table('webhookattempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhookattempt_delivery_id'))

    op.drop_table('webhookattempt')
    with op.batch_alter_table('webhookdelivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhookdelivery_lane')
        batch_op.drop_index('ix_webhookdelivery_due')

    op.drop_table('webhookdelivery')
    op.drop_table('webhooksubscription')
    with op.batch_alter_table('outboxevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outboxevent_application_id'))

    op.drop_table('outboxevent')
