"""Step clocks: the statutory time limit of the current step, paused and resumed as the law says.

A state may declare a limit (working or natural days). Entering it starts a fresh clock on the
day of the triggering event (that day is not counted). Entering a state marked ``counts: false``
(补正, 专家评审, 公示 of a review...) pauses the running clock (行政许可法 §45, §32); coming back
to the paused state resumes it with the days left. ``clock: pause`` / ``clock: resume`` on a
transition does the same without a change of state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

from engine.spec import Limit, StateSpec, TransitionSpec, WorkflowSpec
from engine.working_days import DueDate, WorkCalendar, add_natural_days, add_working_days, working_days_between


@dataclass(frozen=True)
class StepClock:
    state: str  # the state whose limit runs
    unit: str  # "working_days" or "natural_days"
    limit: int
    started_on: date  # the day counting (re)started from; not itself counted
    used_before: int = 0  # days used before the last pause
    paused_on: date | None = None
    pause_reason: str | None = None
    due: date | None = None  # last day (24:00 Shanghai); None while paused
    provisional: bool = False
    generation: int = 1  # bumped on every change, so a stale timer can tell it is stale
    extended: bool = False  # a step may be extended once (行政许可法 §42)
    held: bool = False  # paused by an explicit `pause` (专家评审): only an explicit `resume` ends it

    @property
    def is_paused(self) -> bool:
        return self.paused_on is not None

    def used(self, today: date, calendar: WorkCalendar) -> int:
        if self.paused_on is not None:
            return self.used_before
        return self.used_before + _days_between(self.unit, self.started_on, today, calendar)

    def remaining(self, today: date, calendar: WorkCalendar) -> int:
        return self.limit - self.used(today, calendar)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_on", "paused_on", "due"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> StepClock | None:
        if not data:
            return None
        dates = {k: date.fromisoformat(data[k]) if data.get(k) else None for k in ("started_on", "paused_on", "due")}
        return cls(**{**data, **dates})


def next_clock(
    spec: WorkflowSpec,
    clock: StepClock | None,
    transition: TransitionSpec,
    from_state: str,
    to_state: str,
    today: date,
    calendar: WorkCalendar,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> StepClock | None:
    """The clock after firing ``transition`` on ``today``. ``data`` are the application's facts with the
    transition's input: they choose the profile's limits (e.g. 简易低风险) and may set the next step's
    deadline (``due_from``, e.g. the 整改期限 the checker gives)."""
    target = spec.states_by_id[to_state]
    limit = spec.limit_of(target, data or {})
    if transition.extends_by is not None:
        return extend(clock, transition.extends_by, today, calendar) if clock else None
    if transition.clock == "pause":
        return replace(pause(clock, today, calendar, reason or transition.title), held=True) if clock else None
    if not target.counts and from_state != to_state:
        return pause(clock, today, calendar, reason or transition.title) if clock else None
    if transition.clock == "resume":
        return replace(resume(clock, today, calendar), held=False) if clock else None
    if clock and clock.is_paused and clock.state == to_state:  # back from 补正
        return clock if clock.held else resume(clock, today, calendar)
    if from_state == to_state:
        return clock
    generation = (clock.generation + 1) if clock else 1
    if transition.clock == "backdate" and clock is not None:
        return start(target, clock.started_on, calendar, generation, limit)
    fresh = start(target, today, calendar, generation, limit)
    given = (data or {}).get(transition.due_from) if transition.due_from else None
    if fresh is None or not isinstance(given, str):
        return fresh
    due = date.fromisoformat(given)  # the limit becomes the working days up to the date set
    # a date set by hand stands whatever the calendar says: never provisional, never recounted
    return replace(fresh, limit=working_days_between(today, due, calendar), due=due, provisional=False)


def start(
    state: StateSpec, today: date, calendar: WorkCalendar, generation: int = 1, limit: Limit | None = None
) -> StepClock | None:
    """A fresh clock for ``state``: its own limit, or ``limit`` (a profile's) when given."""
    chosen = limit or state.limit
    if chosen is None:
        return None
    unit, days = chosen.unit_and_days()
    due = _due(unit, today, days, calendar)
    return StepClock(state.id, unit, days, today, due=due.day, provisional=due.provisional, generation=generation)


def pause(clock: StepClock, today: date, calendar: WorkCalendar, reason: str) -> StepClock:
    if clock.is_paused:
        return clock
    used = clock.used(today, calendar)
    return replace(clock, used_before=used, paused_on=today, pause_reason=reason, due=None,
                   generation=clock.generation + 1)  # fmt: skip


def resume(clock: StepClock, today: date, calendar: WorkCalendar) -> StepClock:
    if not clock.is_paused:
        return clock
    due = _due(clock.unit, today, max(clock.limit - clock.used_before, 0), calendar)
    return replace(clock, started_on=today, paused_on=None, pause_reason=None, due=due.day,
                   provisional=clock.provisional or due.provisional, generation=clock.generation + 1)  # fmt: skip


def extend(clock: StepClock, extra: int, today: date, calendar: WorkCalendar) -> StepClock:
    """A one-off extension (行政许可法 §42): the limit grows, the deadline moves by ``extra`` days."""
    extended = replace(clock, limit=clock.limit + extra, generation=clock.generation + 1, extended=True)
    if clock.is_paused or clock.due is None:
        return extended
    due = _due(clock.unit, clock.due, extra, calendar)
    return replace(extended, due=due.day, provisional=clock.provisional or due.provisional)


def is_overdue(clock: StepClock | None, today: date) -> bool:
    return clock is not None and clock.due is not None and today > clock.due


REMINDER_DAYS = 3  # PROCESS.md §4.2: a reminder at 3 working days before a deadline


def reminder_day(clock: StepClock, calendar: WorkCalendar) -> date | None:
    """The first day with at most 3 working days left before the due day (for a Monday deadline,
    the Wednesday before), but not before the clock (re)started: a step that starts with 3 days
    or fewer left is due soon at once. None for a paused clock or a natural-day period (公示),
    whose end is nobody's deadline."""
    if clock.unit != "working_days" or clock.due is None:
        return None
    day, left = clock.due, 0
    while day > clock.started_on and left + calendar.is_workday(day) <= REMINDER_DAYS:
        left += calendar.is_workday(day)
        day -= timedelta(days=1)
    return day


SUPPLEMENT_REMINDER_DAYS = 20  # PROCESS.md §4.3: an unanswered acceptance-stage 补正 notice


def supplement_reminder_day(
    spec: WorkflowSpec, transition: TransitionSpec, to_state: str, today: date, calendar: WorkCalendar
) -> date | None:
    """The day after which the applicant is reminded of the 补正 notice ``transition`` sent on
    ``today`` (at its 24:00, like a deadline); None for any other transition. A review-stage notice
    enters a state that does not count (the step clock pauses) and gets no such reminder."""
    target = spec.states_by_id[to_state]
    if transition.kind != "request_supplement" or not target.counts or target.limit is not None:
        return None
    return add_working_days(today, SUPPLEMENT_REMINDER_DAYS, calendar).day


def is_due_soon(clock: StepClock | None, today: date, calendar: WorkCalendar) -> bool:
    """From the reminder day up to and including the due day."""
    if clock is None or clock.due is None or today > clock.due:
        return False
    reminder = reminder_day(clock, calendar)
    return reminder is not None and today >= reminder


def recalculate(clock: StepClock, before: WorkCalendar, after: WorkCalendar) -> StepClock:
    """``clock`` recounted on ``after`` (a year's notice was entered; ``before`` is what it was
    counted on). A running clock gets a new due day from the day it last (re)started; a paused
    one recounts the days it used since then. Days used before its last resume stay as counted.
    The generation changes only with the due day, so timers of an unchanged deadline stay valid."""
    if clock.paused_on is not None:
        since = clock.started_on, clock.paused_on
        used = clock.used_before - _days_between(clock.unit, *since, before) + _days_between(clock.unit, *since, after)
        provisional = clock.unit == "working_days" and not after.is_span_known(*since)
        return replace(clock, used_before=used, provisional=provisional)
    due = _due(clock.unit, clock.started_on, max(clock.limit - clock.used_before, 0), after)
    generation = clock.generation if due.day == clock.due else clock.generation + 1
    return replace(clock, due=due.day, provisional=due.provisional, generation=generation)


def _due(unit: str, start_day: date, days: int, calendar: WorkCalendar) -> DueDate:
    if unit == "natural_days":
        return add_natural_days(start_day, days)
    return add_working_days(start_day, days, calendar)


def _days_between(unit: str, start_day: date, end_day: date, calendar: WorkCalendar) -> int:
    if unit == "natural_days":
        return max((end_day - start_day).days, 0)
    return working_days_between(start_day, end_day, calendar)


def next_process_clock(
    spec: WorkflowSpec, process: StepClock | None, transition: TransitionSpec, to_state: str, today: date,
    calendar: WorkCalendar, data: Mapping[str, Any] | None = None,
) -> StepClock | None:  # fmt: skip
    """The whole-process clock (国办发〔2019〕11号: ≤ 120 工作日, 简易低风险 ≤ 10): starts at the first 受理,
    pauses in non-counting states, stops in a final state. Tracked for reports, never blocking."""
    total_limit = spec.total_limit_of(data or {})
    if total_limit is None:
        return None
    target = spec.states_by_id[to_state]
    if process is None:
        if transition.kind != "accept":
            return None
        unit, limit = total_limit.unit_and_days()
        due = _due(unit, today, limit, calendar)
        return StepClock("process", unit, limit, today, due=due.day, provisional=due.provisional)
    if process.pause_reason == FINISHED:
        return process
    if target.final:
        return pause(process, today, calendar, FINISHED)
    if not target.counts:
        return pause(process, today, calendar, target.title)
    return resume(process, today, calendar) if process.is_paused else process


FINISHED = "办结"
