"""Deadlines counted on a guessed calendar, counted again when the year's notice is entered.

PROCESS.md §4.2: a deadline reaching into a year without a notice is computed on weekends and
the fixed-date holidays and marked provisional; entering the year recomputes every open one,
with one audit entry each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select, update

from api.db.models import Application
from api.services import outbox, workflows
from api.services.audit_trail import append_event
from api.services.context import Context
from api.services.timers import schedule_deadline
from engine.deadlines import FINISHED, StepClock, recalculate
from engine.runner import Actor
from engine.spec import WorkflowSpec
from engine.working_days import WorkCalendar, end_of_day


def recalculate_provisional_deadlines(
    context: Context, session: Session, actor: Actor, before: WorkCalendar, after: WorkCalendar, year: int
) -> int:
    """In the import's transaction: recount every provisional step and whole-process clock on
    ``after``; each application whose clocks changed gets its deadline, its timers, one audit entry
    ``deadline_recalculated`` and one ``application.deadline_recalculated`` event. Returns how many."""
    changed = 0
    for application_id in _with_provisional_clocks(session):
        # locked, then re-read: a transition racing us waits, then loses its compare-and-set
        application = session.get(Application, application_id, with_for_update=True, populate_existing=True)
        assert application is not None
        spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
        changed += _recalculate(session, actor, application, (before, after), year, context.clock.now(), spec)
    return changed


def _with_provisional_clocks(session: Session) -> list[int]:
    rows = session.exec(select(Application.id, Application.clock, Application.process_clock))
    return [id_ for id_, clock, process in rows if id_ is not None and (_is_open(clock) or _is_open(process))]


def _is_open(data: Any) -> bool:
    clock = StepClock.from_json(data)
    return clock is not None and clock.provisional and clock.pause_reason != FINISHED


def _recalculate(
    session: Session, actor: Actor, application: Application, calendars: tuple[WorkCalendar, WorkCalendar],
    year: int, now: datetime, spec: WorkflowSpec,
) -> int:  # fmt: skip
    before, after = calendars
    clock, process = StepClock.from_json(application.clock), StepClock.from_json(application.process_clock)
    new_clock = recalculate(clock, before, after) if clock and _is_open(application.clock) else clock
    new_process = recalculate(process, before, after) if process and _is_open(application.process_clock) else process
    if (new_clock, new_process) == (clock, process):
        return 0
    moved = new_clock is not None and clock is not None and new_clock.due != clock.due
    session.exec(  # the version moves: a client's next transition must build on the new clock
        update(Application)
        .where(col(Application.id) == application.id)
        .values(
            **({"overdue": False} if moved else {}),  # the new deadline's own timer decides again
            clock=new_clock.to_json() if new_clock else None,
            process_clock=new_process.to_json() if new_process else None,
            deadline=end_of_day(new_clock.due) if new_clock and new_clock.due else None,
            version=application.version + 1,
            updated_at=now,
        )
    )
    session.refresh(application)
    if moved and new_clock is not None:
        schedule_deadline(session, application, new_clock, now, after, spec)
    facts = {"year": year, **_changes("clock", clock, new_clock), **_changes("process", process, new_process)}
    event = append_event(
        session, at=now, actor=actor, application_id=application.id, action="deadline_recalculated",
        from_state=application.state, to_state=application.state,
        comment=f"录入 {year} 年节假日安排，期限重新计算", data=facts,
    )  # fmt: skip
    outbox.record_event(session, "application.deadline_recalculated", application, event)
    return 1


def _changes(name: str, before: StepClock | None, after: StepClock | None) -> dict[str, Any]:
    if before is None or after is None or before == after:
        return {}
    due = {"before": _iso(before), "after": _iso(after)}
    clock = {"before": before.to_json(), "after": after.to_json()}
    return {"deadline": due, name: clock} if name == "clock" else {"process_deadline": due, name: clock}


def _iso(clock: StepClock) -> str | None:
    return clock.due.isoformat() if clock.due else None
