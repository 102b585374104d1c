"""SQLModel tables. Alembic migrations in migrations/ must match these (`alembic check`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
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
    # in every token; raised when the password is reset or the account disabled, so older tokens stop working
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


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
    # the running step clock (engine.deadlines.StepClock as JSON) and its deadline, 24:00 Shanghai in UTC
    clock: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonColumn, nullable=True))
    deadline: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    overdue: bool = Field(default=False, index=True)
    # the whole-process clock (StepClock JSON, state "process"), for workflows that declare total_limit
    process_clock: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonColumn, nullable=True))
    # joint review (会签): branch id -> {"status": pending|approved|skipped, ...}
    joint: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonColumn, nullable=True))


class Material(SQLModel, table=True):
    """One uploaded file of an application's materials (申请材料), inserted, never updated.

    The bytes are stored in the row (``content``): the simplest durable choice. They commit in the
    same transaction as the audit event that records their sha256, go into the same backup, and
    leave no orphan files behind; uploads are capped by GREENLANE_MAX_UPLOAD_BYTES (10 MiB).
    """

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    name: str = Field(max_length=64)  # the declared material's name, or a free label
    version: int = 1  # the n-th file uploaded under this name for this application
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=128)  # from the checked extension, not the client's claim
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = Field(sa_type=UtcDateTime)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ApplicationDraft(SQLModel, table=True):
    """An unfinished application form its owner saved to resume later; deleted when the application is created.

    ``form_values`` holds what was typed, as the strings the form posted (an unfinished form need not be
    valid yet); ``schema_version`` says how to read them.
    """

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    workflow_key: str = Field(max_length=64)
    title: str = Field(default="", max_length=256)
    form_values: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    schema_version: int = 1
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


class CreditRecord(SQLModel, table=True):
    """A bad-credit record written when a commitment proves false (告知承诺制); bars the fast path."""

    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=64, index=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    obtained_by_fraud: bool = False
    bar_until: date
    created_at: datetime = Field(sa_type=UtcDateTime)
    created_by: str = Field(max_length=64)
    lifted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lifted_by: str | None = Field(default=None, max_length=64)
    lift_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Timer(SQLModel, table=True):
    """A durable timer: fired once by whichever scheduler worker claims it first."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    kind: str = Field(default="deadline", max_length=32)  # "deadline", "reminder" or "supplement_reminder"
    state: str = Field(max_length=64)
    clock_generation: int  # the clock it was set for; a later pause, resume or step makes it stale
    due_at: datetime = Field(sa_type=UtcDateTime, index=True)
    fired_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)


class CalendarDay(SQLModel, table=True):
    """An admin-entered day from a State Council holiday notice; wins over the library."""

    day: date = Field(primary_key=True)
    is_workday: bool
    note: str = Field(default="", max_length=128)


class CalendarYear(SQLModel, table=True):
    """A year whose notice was entered in full: unlisted weekdays are working days, nothing is provisional."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(default="", max_length=256)
    imported_at: datetime = Field(sa_type=UtcDateTime)
    imported_by: str = Field(default="", max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("actor_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    actor_id: int
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)


class WebhookSubscription(SQLModel, table=True):
    """An admin's outbound subscription; during a rotation's grace period both secrets sign."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    workflow: str | None = Field(default=None, max_length=64)
    secret: str = Field(max_length=128)
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    is_enabled: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class OutboxEvent(SQLModel, table=True):
    """One state change, written in the transaction that made it; ``event_id`` is the webhook-id."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=64)
    application_id: int | None = Field(default=None, index=True)
    audit_seq: int | None = None
    payload: dict[str, Any] = Field(sa_column=Column(JsonColumn, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: pending until a 2xx (delivered) or max attempts (dead)."""

    __table_args__ = (
        Index("ix_webhookdelivery_lane", "subscription_id", "application_id", "status"),
        Index("ix_webhookdelivery_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhooksubscription.id")
    outbox_event_id: int = Field(foreign_key="outboxevent.id")
    application_id: int | None = None
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    lease_token: str | None = Field(default=None, max_length=32)
    leased_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    last_latency_ms: int | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per HTTP attempt."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhookdelivery.id", index=True)
    attempted_at: datetime = Field(sa_type=UtcDateTime)
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = Field(default=None, max_length=500)


class HookSource(SQLModel, table=True):
    """A registered external system that may fire transitions as its service account."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    secret: str = Field(max_length=128)
    account_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(sa_type=UtcDateTime)
