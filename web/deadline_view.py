"""The 办理时限 block of the application page: the step's clock and the whole-process clock, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from api.schemas import ApplicationPublic, ClockPublic
from engine.spec import WorkflowSpec

UNIT_TITLES = {"working_days": "工作日", "natural_days": "自然日"}
WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class ClockLine:
    """One clock as the page says it: what runs, until when, how much is used and left, and its marks."""

    title: str  # the step (or 全流程) whose limit this is
    unit: str  # 工作日 / 自然日
    limit: int
    used: int
    remaining: int
    due: str  # "2026-03-30（星期一）24:00 前", empty while paused
    paused: bool
    pause_reason: str
    overdue: bool
    due_soon: bool
    is_period: bool  # a 公示 period (natural days): a minimum to wait, whose end is nobody's deadline
    period_over: bool
    provisional: bool
    provisional_years: list[int]
    extended_by: int  # working (or natural) days added by an extension, 0 if none


@dataclass(frozen=True)
class DeadlineView:
    step: ClockLine | None
    process: ClockLine | None
    is_final: bool  # the application is done: nothing runs any more


def deadline_view(application: ApplicationPublic, spec: WorkflowSpec) -> DeadlineView:
    step = None
    if application.clock is not None:
        state = spec.states_by_id.get(application.clock.state)
        original = state.limit.unit_and_days()[1] if state and state.limit else application.clock.limit
        title = state.title if state else application.clock.state
        step = _line(application.clock, title, application.overdue, application.clock.limit - original)
    process = None
    if application.process is not None:
        process = _line(application.process, "全流程", False, 0)
    state = spec.states_by_id.get(application.state)
    return DeadlineView(step=step, process=process, is_final=bool(state and state.final))


def due_text(day: date | None) -> str:
    return f"{day.isoformat()}（星期{WEEKDAYS[day.weekday()]}）24:00 前" if day else ""


def _line(clock: ClockPublic, title: str, flagged_overdue: bool, extended_by: int) -> ClockLine:
    is_period = clock.unit == "natural_days"
    overdue = not clock.paused and not is_period and (clock.overdue or flagged_overdue)
    return ClockLine(
        title=title, unit=UNIT_TITLES.get(clock.unit, clock.unit), limit=clock.limit, used=clock.used,
        remaining=clock.remaining, due=due_text(clock.due), paused=clock.paused, pause_reason=clock.pause_reason or "",
        overdue=overdue, due_soon=clock.due_soon and not overdue, is_period=is_period,
        period_over=is_period and clock.overdue, provisional=clock.provisional,
        provisional_years=clock.provisional_years, extended_by=max(extended_by, 0) if clock.extended else 0,
    )  # fmt: skip
