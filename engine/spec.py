"""The workflow definition (WorkflowSpec): pydantic models of the YAML schema.

Structure only; the semantic checks live in ``engine.checks`` and the YAML in ``engine.loading``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from engine.conditions import Condition, parse_condition
from engine.errors import ConditionInvalid

FieldType = Literal["string", "text", "integer", "number", "boolean", "date", "enum", "reference", "list"]
Kind = Literal[
    "submit", "accept", "approve", "return", "request_supplement", "supplement",
    "reject", "withdraw", "file", "revoke", "other",
]  # fmt: skip
Outcome = Literal["approved", "filed", "rejected", "withdrawn", "revoked"]
Jurisdiction = Literal["district", "city", "any"]

# Kinds that decide on someone else's application: never fired by the user who submitted it.
REVIEW_KINDS: frozenset[str] = frozenset(
    {"accept", "approve", "return", "request_supplement", "reject", "file", "revoke"}
)


def _check_condition(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_condition(value)
        except ConditionInvalid as error:  # pydantic reports ValueError at the key's line
            raise ValueError(error.detail) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str | dict) else value


class FieldSpec(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    label: str
    required: bool = False
    enum: list[str] | None = None
    enum_labels: dict[str, str] | None = None
    help: str | None = None
    basis: str | None = None


class MaterialSpec(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    basis: str | None = None


class Limit(_Model):
    """A step's statutory time limit: working days (行政许可法 §42, §82) or natural days (公示)."""

    working_days: int | None = Field(default=None, gt=0, le=3650)
    natural_days: int | None = Field(default=None, gt=0, le=3650)

    @model_validator(mode="after")
    def _one_unit(self) -> Limit:
        if (self.working_days is None) == (self.natural_days is None):
            raise ValueError("须且只能写 working_days 或 natural_days 之一")
        return self

    def unit_and_days(self) -> tuple[str, int]:
        if self.working_days is not None:
            return "working_days", self.working_days
        assert self.natural_days is not None
        return "natural_days", self.natural_days


class BranchSpec(_Model):
    """One department's part of a joint review (会签 / 并联审批)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    skip_when: str | None = None  # e.g. 用地 when the land does not change (004 七(三))
    skip_reason: str | None = None
    basis: str

    @field_validator("skip_when")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        return _check_condition(value)

    @cached_property
    def skip_condition(self) -> Condition | None:
        return parse_condition(self.skip_when) if self.skip_when else None


class JointSpec(_Model):
    branches: list[BranchSpec] = Field(min_length=1)
    then: str  # the transition the system fires once every branch is approved or skipped


class LateAction(_Model):
    """What the system does once a deadline has been missed by some calendar days (广州: an unmet
    commitment is pushed to the credit platform on the 6th day after its deadline)."""

    natural_days: int = Field(ge=2, le=365)  # fires at 00:00 of this calendar day after the deadline
    then: str  # a transition leaving the state that the system may fire
    basis: str


class StateSpec(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    final: bool = False
    outcome: Outcome | None = None
    limit: Limit | None = None
    counts: bool = True  # false: time spent here is not counted (补正, 专家评审...): the clock pauses
    on_timeout: str | None = None  # a transition the system fires when this state's limit runs out
    late: LateAction | None = None  # and what it fires some days later if the step is still open
    joint: JointSpec | None = None
    description: str | None = None
    basis: str | None = None


class ActorRule(_Model):
    """Who may act: the application's own applicant, or a role within a jurisdiction.

    ``jurisdiction: district`` means the department of the application's own district;
    ``city`` a city-level department; ``any`` either.
    """

    applicant: bool = False
    role: str | None = None
    jurisdiction: Jurisdiction = "any"

    @model_validator(mode="after")
    def _one_kind(self) -> ActorRule:
        if self.applicant == (self.role is not None):
            raise ValueError("须且只能写 applicant: true 或 role 之一")
        return self


class Requirements(_Model):
    comment: bool = False
    period_elapsed: bool = False  # the state's natural-day period (公示) must have run in full
    not_barred: bool = False  # the applicant's organisation holds no fast-path bar (告知承诺制 credit)
    fields: list[str] = []
    materials: list[str] = []


class OneTimeNotice(_Model):
    """一次性告知 (行政许可法 §32): a 补正 notice lists every item at once. A second notice on the same
    step may only name items still unanswered or defects in newly supplied files, so it must say why."""

    items: str  # the transition field holding the notice's item list
    repeat_reason: str  # the transition field where a second notice on the same step gives its reason


class TransitionSpec(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    kind: Kind
    source: Annotated[list[str], BeforeValidator(_as_list)] = Field(alias="from", min_length=1)
    target: str = Field(alias="to")
    by: Annotated[list[ActorRule], BeforeValidator(_as_list)] = Field(min_length=1)
    when: str | None = None
    when_reason: str | None = None
    fields: list[FieldSpec] = []
    requires: Requirements = Requirements()
    # pause / resume the step clock (state unchanged); backdate: the next step's clock counts from the
    # day the current one started (视为受理: 受理 date = the day the file was received, 行政许可法 §32)
    clock: Literal["pause", "resume", "backdate"] | None = None
    branch: str | None = None  # a joint-review branch this decision completes (state unchanged)
    branch_field: str | None = None  # an enum field naming the joint branch a 补正 or rejection concerns
    extends_by: int | None = Field(default=None, gt=0, le=60)  # 延长期限 (行政许可法 §42): once per step
    records_credit: bool = False  # 撤销 for a false commitment: write a credit record and bar
    pushes_credit: bool = False  # an unmet commitment: send a credit record to the credit platform, no bar
    # the credit platform reports on the applicant's organisation: a serious bad-credit record bars the
    # fast path until the platform reports it repaired (input field serious_bad_credit)
    reports_credit: bool = False
    due_from: str | None = None  # a date field of this transition that sets the next step's deadline (整改期限)
    one_time_notice: OneTimeNotice | None = None  # 补正通知: recorded per step; a second one needs a reason
    basis: str

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        return _check_condition(value)

    @cached_property
    def condition(self) -> Condition | None:
        return parse_condition(self.when) if self.when else None


class ProfileSpec(_Model):
    """Shorter limits for a class of applications, e.g. 社会投资简易低风险 (国办发〔2019〕11号: ≤ 10 工作日)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    when: str
    limits: dict[str, Limit] = {}  # state id -> the limit that replaces the state's own
    total_limit: Limit | None = None  # replaces the workflow's whole-process limit
    basis: str

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str) -> str:
        _check_condition(value)
        return value

    @cached_property
    def condition(self) -> Condition:
        return parse_condition(self.when)


class WorkflowSpec(_Model):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str = ""
    basis: str
    initial: str
    initiator: Annotated[list[ActorRule], BeforeValidator(_as_list)] = Field(min_length=1)
    # the whole process, from the first 受理 to a final state, pauses excluded: tracked, not blocking
    total_limit: Limit | None = None
    profiles: list[ProfileSpec] = []  # the first whose condition holds applies; none: the states' own limits
    fields: list[FieldSpec] = []
    materials: list[MaterialSpec] = []
    states: list[StateSpec] = Field(min_length=1)
    transitions: list[TransitionSpec] = Field(min_length=1)

    @cached_property
    def states_by_id(self) -> dict[str, StateSpec]:
        return {state.id: state for state in self.states}

    @cached_property
    def fields_by_name(self) -> dict[str, FieldSpec]:
        return {field.name: field for field in self.fields}

    def profile_for(self, facts: Mapping[str, Any]) -> ProfileSpec | None:
        return next((profile for profile in self.profiles if profile.condition.evaluate(facts)), None)

    def limit_of(self, state: StateSpec, facts: Mapping[str, Any]) -> Limit | None:
        profile = self.profile_for(facts)
        return profile.limits.get(state.id, state.limit) if profile else state.limit

    def total_limit_of(self, facts: Mapping[str, Any]) -> Limit | None:
        profile = self.profile_for(facts)
        return profile.total_limit or self.total_limit if profile else self.total_limit

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        return [t for t in self.transitions if state in t.source]

    def public_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
