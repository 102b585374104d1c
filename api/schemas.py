"""Public shapes of the JSON API (never the tables themselves)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ROW_ID = 2**63 - 1  # ids are BIGINTs: a larger number is no row (and would overflow SQLite), so a 422


class ActionPublic(BaseModel):
    transition: str
    title: str
    kind: str
    allowed: bool
    reason: str | None
    fields: list[dict[str, Any]]


class ClockPublic(BaseModel):
    """The current step's time limit: working (or natural) days used and left, and why it is paused."""

    state: str
    unit: str
    limit: int
    due: date | None
    used: int
    remaining: int
    paused: bool
    pause_reason: str | None
    provisional: bool
    due_soon: bool = False  # from 3 working days before the deadline up to it (the reminder)
    overdue: bool = False  # the due day has passed (for the process clock: tracked, never blocking)
    extended: bool = False  # the step's limit was extended (行政许可法 §42, once per step)
    provisional_years: list[int] = []  # why it is provisional: counted years without a holiday notice


class ApplicationPublic(BaseModel):
    id: int
    workflow: str
    workflow_version: int
    title: str
    data: dict[str, Any]
    state: str
    state_title: str
    outcome: str | None
    version: int
    applicant: str
    created_at: datetime
    updated_at: datetime
    deadline: datetime | None = None
    overdue: bool = False
    clock: ClockPublic | None = None
    process: ClockPublic | None = None  # the whole-process limit (e.g. 120 working days), tracked only
    # 会签: each joint reviewer's decision this round (department, decision, reasons); kept when it is sent back
    joint_opinions: list[dict[str, Any]] = []
    available_actions: list[ActionPublic]


class ApplicationPage(BaseModel):
    items: list[ApplicationPublic]
    next_cursor: str | None


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workflow: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=256)
    data: dict[str, Any] = {}
    draft_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)  # the saved draft this completes, deleted with it


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expected_version: int
    comment: str = Field(default="", max_length=10_000)
    data: dict[str, Any] = {}


class AuditEventPublic(BaseModel):
    seq: int
    at: datetime
    actor: str
    application_id: int | None
    action: str
    from_state: str | None
    to_state: str | None
    comment: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class MaterialPublic(BaseModel):
    id: int
    application_id: int
    name: str
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class AuditVerification(BaseModel):
    ok: bool
    events: int
    first_bad_seq: int | None


class WorkflowSummary(BaseModel):
    key: str
    version: int
    title: str
    description: str
    content_hash: str
    published_at: datetime


class WorkflowVersionPublic(BaseModel):
    version: int
    title: str
    content_hash: str
    published_at: datetime
    published_by: str | None
    applications: int


class DiffLinePublic(BaseModel):
    kind: Literal["header", "hunk", "added", "removed", "context"]
    text: str


class WorkflowDiff(BaseModel):
    key: str
    from_version: int
    to_version: int
    added: int
    removed: int
    unified: str
    lines: list[DiffLinePublic]


class ValidationErrorItem(BaseModel):
    line: int
    path: str
    message: str


class ValidationResult(BaseModel):
    valid: bool
    errors: list[ValidationErrorItem] = []


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class OverdueRowPublic(BaseModel):
    """One open step past its deadline (or, when asked for, due within 3 working days): R5 超期清单."""

    application_id: int
    title: str
    workflow: str
    workflow_title: str
    district: str | None
    district_name: str
    state: str
    state_title: str
    responsible_roles: list[str]
    step_started_on: date | None
    deadline: date | None  # 24:00 Asia/Shanghai of this day
    overdue_working_days: int
    overdue_days: int
    due_soon: bool
    extended: bool
    paused: bool
    pause_reason: str | None
    escalated_to: list[dict[str, str]]
    escalated_to_text: str
    last_action_at: datetime | None


class OverdueReport(BaseModel):
    as_of: date
    rows: list[OverdueRowPublic]


class MonthlyRowPublic(BaseModel):
    """R1 月度通报 section A: one district × workflow; ``workflow`` null is the district's total,
    ``district`` null the total of every district shown."""

    district: str | None
    district_name: str
    workflow: str | None
    workflow_title: str
    received: int
    accepted: int
    refused: int
    approved: int
    rejected: int
    filed: int
    withdrawn: int
    revoked: int
    open_at_month_end: int
    overdue_at_month_end: int
    decided_late: int
    supplements: int
    median_net_working_days: float | None
    median_gross_working_days: float | None


class MonthlyReport(BaseModel):
    month: str
    as_of: date  # the month's last day, or today while the month runs
    generated_at: datetime
    rows: list[MonthlyRowPublic]
