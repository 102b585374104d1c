"""Durable timers: deadlines that fall due mark applications overdue and may fire a timeout.

Timers are rows. A worker claims one by setting ``fired_at`` with a conditional UPDATE in the same
transaction as its effects, so each timer fires exactly once however many workers run (on
PostgreSQL, SKIP LOCKED keeps workers from queueing behind each other's claims), and a worker
killed mid-way leaves its timer unclaimed for the next run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session, col, select, update

from api.db.models import Application, Timer
from api.services import outbox, workflows
from api.services.audit_trail import append_event
from api.services.context import Context
from api.services.stepping import apply_transition
from engine.deadlines import StepClock
from engine.errors import GreenlaneError
from engine.runner import SYSTEM_ACTOR
from engine.working_days import end_of_day

log = structlog.get_logger(__name__)


def run_due_timers(context: Context, now: datetime | None = None, batch: int = 100) -> int:
    """Fire every timer due by ``now`` (default: the context's clock); returns how many fired."""
    now = now or context.clock.now()
    fired = 0
    while True:
        due = _due_timer_ids(context, now, batch)
        for timer_id in due:
            fired += _fire_timer(context, timer_id, now)
        if len(due) < batch:
            return fired


def _due_timer_ids(context: Context, now: datetime, batch: int) -> list[int]:
    with context.db.read() as session:
        query = (
            select(Timer.id)
            .where(col(Timer.fired_at).is_(None), col(Timer.due_at) <= now)
            .order_by(col(Timer.due_at), col(Timer.id))
            .limit(batch)
        )
        if not context.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        return [timer_id for timer_id in session.exec(query).all() if timer_id is not None]


def _fire_timer(context: Context, timer_id: int, now: datetime) -> int:
    """Claim, mark overdue and fire the timeout in ONE transaction: a crash or an unexpected error
    rolls the claim back too, so the timer stays due for the next run."""
    with context.db.write() as session:
        claimed = session.exec(
            update(Timer).where(col(Timer.id) == timer_id, col(Timer.fired_at).is_(None)).values(fired_at=now)
        ).rowcount
        if claimed != 1:  # another worker fired it first
            return 0
        timer = session.get(Timer, timer_id)
        assert timer is not None
        # the row lock makes a racing transition finish first (PostgreSQL); then we see its result
        application = session.get(Application, timer.application_id, with_for_update=True)
        if application is None or not _is_current(timer, application):
            return 0  # the step moved on, paused or resumed since the timer was set
        late = _late_action(context, application, timer)
        if late is not None:  # days after the deadline: the state's late action, once
            _fire_system(context, session, application, late, "逾期未办结，系统自动办理")
        else:
            _mark_overdue(context, session, application, timer, now)
            _fire_timeout(context, session, application)
    log.info("timer_fired", timer_id=timer_id, application_id=timer.application_id, state=timer.state)
    return 1


def _is_current(timer: Timer, application: Application) -> bool:
    clock = StepClock.from_json(application.clock)
    return clock is not None and clock.generation == timer.clock_generation and application.state == timer.state


def _mark_overdue(context: Context, session: Session, application: Application, timer: Timer, now: datetime) -> None:
    clock = StepClock.from_json(application.clock)
    assert clock is not None and application.id is not None
    session.exec(update(Application).where(col(Application.id) == application.id).values(overdue=True))
    # the version is not bumped: being late is a fact about the step, not an edit a client must re-read
    facts: dict[str, Any] = {
        "state": timer.state,
        "due": clock.due.isoformat() if clock.due else None,
        "limit": clock.limit,
        "unit": clock.unit,
        "basis": "N: 行政许可法 §42; 004 八(四)",
    }
    event = append_event(
        session, at=now, actor=SYSTEM_ACTOR, application_id=application.id, action="overdue",
        from_state=application.state, to_state=application.state, data=facts,
    )  # fmt: skip
    session.refresh(application)
    outbox.record_event(session, "application.overdue", application, event)


def _late_action(context: Context, application: Application, timer: Timer) -> str | None:
    """The transition of the state's ``late`` rule if ``timer`` is its timer (set after the deadline)."""
    clock = StepClock.from_json(application.clock)
    spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
    late = spec.states_by_id[application.state].late
    if late is None or clock is None or clock.due is None or timer.due_at <= end_of_day(clock.due):
        return None
    return late.then


def _fire_timeout(context: Context, session: Session, application: Application) -> None:
    """The state's ``on_timeout`` transition, fired by the system inside the timer's transaction."""
    runner = workflows.runner_for(context, application.workflow_key, application.workflow_version)
    transition = runner.spec.states_by_id[application.state].on_timeout
    if transition is not None:
        _fire_system(context, session, application, transition, "期限届满，系统自动办理")


def _fire_system(context: Context, session: Session, application: Application, transition: str, comment: str) -> None:
    runner = workflows.runner_for(context, application.workflow_key, application.workflow_version)
    try:  # apply_transition refuses (raises) before it writes anything, so nothing is half done
        apply_transition(session, context, runner, application, SYSTEM_ACTOR, transition, comment, {})
    except GreenlaneError as error:  # e.g. a guard that no longer holds: leave it to the people
        log.warning("timeout_not_fired", application_id=application.id, transition=transition, error=error.code)
