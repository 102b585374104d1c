"""Report figures (REPORTS.md R1 section A, R5) computed from plain records of the audit trail.

Common rules (REPORTS.md): an event counts on the Asia/Shanghai day of its audit entry; "open at
month end" is the state at 24:00 of the month's last day; working days come from the calendar the
deadlines use; net working days leave out the days a step clock was paused, gross ones do not.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from engine.deadlines import StepClock, is_overdue
from engine.errors import InvalidData
from engine.roles import ROLE_TITLES
from engine.spec import REVIEW_KINDS, WorkflowSpec
from engine.working_days import WorkCalendar, shanghai_day, working_days_between

ACCEPTS = frozenset({"accept", "accept_with_gaps", "deem_accept"})  # 受理
REJECTS = frozenset({"reject", "reject_branch"})  # 不予批准, counted only after 受理
COUNTED_ACTIONS = {"submit": "received", "refuse_acceptance": "refused", "acknowledge_filing": "filed",
                   "withdraw": "withdrawn", "revoke": "revoked", "request_supplement": "supplements"}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One audit entry of an application, as the reports read it."""

    at: datetime
    actor: str
    action: str
    to_state: str | None
    data: Mapping[str, Any]

    @property
    def day(self) -> date:
        return shanghai_day(self.at)

    @property
    def is_transition(self) -> bool:
        return "kind" in self.data  # overdue, escalation, recalculation and uploads carry no kind

    def clock(self, moment: str) -> StepClock | None:
        """The step clock ``before`` or ``after`` this entry, when the entry changed it."""
        change = self.data.get("clock")
        return StepClock.from_json(change.get(moment)) if isinstance(change, Mapping) else None


@dataclass(frozen=True)
class ApplicationRecord:
    id: int
    workflow: str
    district: str | None
    final_states: frozenset[str]
    entries: Sequence[Entry]  # oldest first


@dataclass(frozen=True)
class Month:
    first: date
    last: date

    @property
    def label(self) -> str:
        return self.first.strftime("%Y-%m")


def parse_month(text: str) -> Month:
    """``2026-04`` → April 2026; anything else raises InvalidData (422) in Chinese."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    year, month = (int(found[1]), int(found[2])) if found else (0, 0)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise InvalidData(f"月份格式应为 YYYY-MM（如 2026-04），收到：{text}", field="month")
    first = date(year, month, 1)
    return Month(first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))


@dataclass
class MonthlyFigures:
    """R1 section A for one group of applications; the medians come from the day counts kept."""

    received: int = 0
    accepted: int = 0
    refused: int = 0
    approved: int = 0
    rejected: int = 0
    filed: int = 0
    withdrawn: int = 0
    revoked: int = 0
    open_at_month_end: int = 0
    overdue_at_month_end: int = 0
    decided_late: int = 0
    supplements: int = 0
    net_working_days: list[int] = field(default_factory=list)
    gross_working_days: list[int] = field(default_factory=list)

    @property
    def median_net_working_days(self) -> float | None:
        return statistics.median(self.net_working_days) if self.net_working_days else None

    @property
    def median_gross_working_days(self) -> float | None:
        return statistics.median(self.gross_working_days) if self.gross_working_days else None

    def add(self, other: MonthlyFigures) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def monthly_figures(record: ApplicationRecord, month: Month, today: date, calendar: WorkCalendar) -> MonthlyFigures:
    """One application's part of R1 section A for ``month``; ``today`` caps "month end" for the running month.

    A decision is an entry that sets the outcome ``approved`` or a rejection after 受理; its net and
    gross working days run from the last 受理 before it (视为受理 counts from the day the clock was
    backdated to) and it is late when taken after the deadline of the step it decided.
    """
    figures = MonthlyFigures()
    outcome: str | None = None
    accepted_on: date | None = None
    pauses = _pauses(record.entries)
    for entry in record.entries:
        in_month = month.first <= entry.day <= month.last
        if in_month and entry.action in COUNTED_ACTIONS:
            name = COUNTED_ACTIONS[entry.action]
            setattr(figures, name, getattr(figures, name) + 1)
        if not entry.is_transition:
            continue
        sets_approved = entry.data.get("outcome") == "approved" and outcome != "approved"
        rejects = entry.action in REJECTS and accepted_on is not None
        if in_month and entry.action in ACCEPTS:
            figures.accepted += 1
        if in_month and (sets_approved or rejects):
            figures.approved += sets_approved
            figures.rejected += rejects
            figures.decided_late += is_overdue(entry.clock("before"), entry.day)
            if accepted_on is not None:
                gross = working_days_between(accepted_on, entry.day, calendar)
                figures.gross_working_days.append(gross)
                figures.net_working_days.append(gross - _paused_days(pauses, accepted_on, entry.day, calendar))
        outcome = entry.data.get("outcome", outcome)
        if entry.action in ACCEPTS:
            started = entry.clock("after")
            accepted_on = started.started_on if started and entry.action == "deem_accept" else entry.day
    _count_month_end(figures, record, min(month.last, today))
    return figures


def _count_month_end(figures: MonthlyFigures, record: ApplicationRecord, last_day: date) -> None:
    """Open = received by 24:00 of ``last_day`` and not in a final state then; overdue = its
    working-day step clock then past its deadline (a 公示 period is nobody's deadline)."""
    entries = [entry for entry in record.entries if entry.day <= last_day]
    states = [entry.to_state for entry in entries if entry.to_state]
    received = any(entry.data.get("kind") == "submit" for entry in entries)
    if not states or not received or states[-1] in record.final_states:
        return
    figures.open_at_month_end += 1
    clocks = [entry.clock("after") for entry in entries if "clock" in entry.data]
    clock = clocks[-1] if clocks else None
    figures.overdue_at_month_end += clock is not None and clock.unit == "working_days" and is_overdue(clock, last_day)


def _pauses(entries: Iterable[Entry]) -> list[tuple[date, date | None]]:
    """Each (pause day, resume day) of the step clocks; the resume day is None while still paused."""
    pauses: list[tuple[date, date | None]] = []
    paused_on: date | None = None
    for entry in entries:
        if "clock" not in entry.data:
            continue
        after = entry.clock("after")
        if after is not None and after.paused_on is not None:
            paused_on = paused_on or after.paused_on
        elif paused_on is not None:
            pauses.append((paused_on, entry.day))
            paused_on = None
    return [*pauses, (paused_on, None)] if paused_on else pauses


def _paused_days(pauses: Sequence[tuple[date, date | None]], start: date, end: date, calendar: WorkCalendar) -> int:
    """Working days after ``start`` up to ``end`` on which a clock was paused."""
    spans = [(max(paused, start), min(resumed or end, end)) for paused, resumed in pauses]
    return sum(working_days_between(first, last, calendar) for first, last in spans)


@dataclass(frozen=True)
class Lateness:
    working_days: int
    calendar_days: int


def lateness(clock: StepClock, today: date, calendar: WorkCalendar) -> Lateness | None:
    """How far a working-day step is past its deadline on ``today`` (None when it is not). A step
    paused after its deadline stays late by the days it had used beyond its limit."""
    if clock.unit != "working_days":
        return None
    if clock.due is not None:
        if not is_overdue(clock, today):
            return None
        return Lateness(working_days_between(clock.due, today, calendar), (today - clock.due).days)
    over = clock.used_before - clock.limit
    if clock.paused_on is None or over <= 0:
        return None
    due, left = clock.paused_on, over
    while left > 0:  # back over the working days used beyond the limit: the deadline it had
        left -= calendar.is_workday(due)
        due -= timedelta(days=1)
    return Lateness(over, (clock.paused_on - due).days)


@dataclass(frozen=True)
class StepHistory:
    started_on: date | None  # the day the current step's clock started (or was backdated to)
    escalated_to: list[dict[str, str]]  # from the scheduler's 'escalation' entries on this step
    last_action_at: datetime | None  # the last entry by a person (not the system)


def step_history(entries: Sequence[Entry], clock: StepClock) -> StepHistory:
    """What the audit trail says about the step ``clock`` times."""
    start = 0
    for index, entry in enumerate(entries):
        before, after = entry.clock("before"), entry.clock("after")
        if after is not None and after.state == clock.state and (before is None or before.state != after.state):
            start = index
    started = entries[start].clock("after") if entries else None
    escalated: list[dict[str, str]] = []
    for entry in entries[start:]:
        if entry.action == "escalation" and entry.data.get("state") == clock.state:
            escalated = list(entry.data.get("escalated_to") or [])
    people = [entry.at for entry in entries if entry.actor != "system"]
    return StepHistory(started.started_on if started else None, escalated, people[-1] if people else None)


def responsible_roles(spec: WorkflowSpec, state: str) -> list[str]:
    """The roles that decide ``state`` (its review transitions), as Chinese titles."""
    roles = {rule.role for t in spec.transitions_from(state) if t.kind in REVIEW_KINDS for rule in t.by if rule.role}
    return [ROLE_TITLES.get(role, role) for role in sorted(roles - {"system", "dept_head"})]


def describe_target(target: Mapping[str, str], district_names: Mapping[str, str]) -> str:
    """An escalation target in words: 行政机关负责人（城市更新工作机构）, 城市更新工作机构（临河县）."""
    role = ROLE_TITLES.get(target.get("role", ""), target.get("role", ""))
    if "department" in target:
        return f"{role}（{ROLE_TITLES.get(target['department'], target['department'])}）"
    if "district" in target:
        return f"{role}（{district_names.get(target['district'], target['district'])}）"
    return role


@dataclass(frozen=True)
class MonthlyRow:
    district: str | None  # None: every district (the grand total)
    workflow: str | None  # None: every workflow (a district's total)
    figures: MonthlyFigures


def monthly_table(
    records: Iterable[ApplicationRecord],
    month: Month,
    today: date,
    calendar: WorkCalendar,
    districts: Sequence[str],
    workflows: Sequence[str],
) -> list[MonthlyRow]:
    """R1 section A: a row per district × workflow (zeros included), each district's total, then the total."""
    cells = {(district, workflow): MonthlyFigures() for district in districts for workflow in workflows}
    for record in records:
        cell = cells.get((record.district or "", record.workflow))
        if cell is not None:
            cell.add(monthly_figures(record, month, today, calendar))
    rows: list[MonthlyRow] = []
    total = MonthlyFigures()
    for district in districts:
        subtotal = MonthlyFigures()
        for workflow in workflows:
            rows.append(MonthlyRow(district, workflow, cells[(district, workflow)]))
            subtotal.add(cells[(district, workflow)])
        rows.append(MonthlyRow(district, None, subtotal))
        total.add(subtotal)
    return [*rows, MonthlyRow(None, None, total)]
