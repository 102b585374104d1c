"""Setting durable timers for a step's deadline; api.services.scheduler fires them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from api.db.models import Application, Timer
from engine.deadlines import StepClock, reminder_day
from engine.spec import WorkflowSpec
from engine.working_days import WorkCalendar, end_of_day


def schedule_deadline(
    session: Session,
    application: Application,
    clock: StepClock,
    now: datetime,
    calendar: WorkCalendar,
    spec: WorkflowSpec,
) -> None:
    """A timer at 24:00 of the due day; a reminder at 00:00 of the day 3 working days before it (at
    once if that has passed); and, for a state with a ``late`` rule, one at 00:00 of its Nth calendar
    day after the deadline. Stale ones are ignored when they fire (generation mismatch)."""
    if clock.due is None:
        return
    assert application.id is not None
    session.add(Timer(application_id=application.id, state=clock.state, clock_generation=clock.generation,
                      due_at=end_of_day(clock.due), created_at=now))  # fmt: skip
    if (late := spec.states_by_id[clock.state].late) is not None:
        session.add(Timer(application_id=application.id, kind="late", state=clock.state,
                          clock_generation=clock.generation, due_at=late_moment(clock.due, late.natural_days),
                          created_at=now))  # fmt: skip
    reminder = reminder_day(clock, calendar)
    if reminder is not None:
        remind_at = max(end_of_day(reminder - timedelta(days=1)), now)  # 00:00 of the reminder day
        session.add(Timer(application_id=application.id, kind="reminder", state=clock.state,
                          clock_generation=clock.generation, due_at=remind_at, created_at=now))  # fmt: skip


def late_moment(due: date, natural_days: int) -> datetime:
    """00:00 Shanghai of the ``natural_days``-th calendar day after the deadline ``due``."""
    return end_of_day(due + timedelta(days=natural_days - 1))


def schedule_supplement_reminder(
    session: Session, application: Application, day: date, now: datetime, notice_seq: int
) -> None:
    """A reminder at 24:00 of ``day`` that the 补正 notice is unanswered. Its state has no clock, so
    ``clock_generation`` holds the audit seq of the notice: a later transition makes the timer stale,
    while an upload or a recalculated deadline (which move the version, not the step) do not."""
    assert application.id is not None
    session.add(Timer(application_id=application.id, kind="supplement_reminder", state=application.state,
                      clock_generation=notice_seq, due_at=end_of_day(day), created_at=now))  # fmt: skip
