"""SQLModel tables. Alembic migrations in migrations/ must match these (`alembic check`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.db.types import JsonColumn, UtcDateTime


class District(SQLModel, table=True):
    """The jurisdiction table: district code → level (PROCESS.md §2)."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    level: str = Field(max_length=16)


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=128)
    district: str | None = Field(default=None, foreign_key="district.code", max_length=32)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=128)
    password_hash: str = Field(max_length=255)
    organisation_id: int = Field(foreign_key="organisation.id")
    roles: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    is_active: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)


class WorkflowVersion(SQLModel, table=True):
    """One published version of a workflow; inserted, never updated."""

    __table_args__ = (UniqueConstraint("key", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    version: int
    title: str = Field(max_length=128)
    source: str = Field(sa_column=Column(Text, nullable=False))
    definition: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    content_hash: str = Field(max_length=64)
    published_at: datetime = Field(sa_type=UtcDateTime)
    published_by: str | None = Field(default=None, max_length=64)


class Application(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    workflow_key: str = Field(max_length=64, index=True)
    workflow_version: int
    title: str = Field(max_length=256)
    state: str = Field(max_length=64, index=True)
    outcome: str | None = Field(default=None, max_length=16)
    version: int = 1
    data: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    applicant_id: int = Field(foreign_key="user.id", index=True)
    applicant_organisation: str = Field(max_length=64)
    district: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only, one global hash chain; a database trigger refuses UPDATE and DELETE."""

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=64)
    actor_id: int | None = None
    application_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=64)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str | None = Field(default=None, max_length=64)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's last (seq, hash): one row, locked by every appender so the chain stays linear."""

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("actor_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    actor_id: int
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)
