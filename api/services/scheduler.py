"""Durable timers: deadlines that fall due mark applications overdue and may fire a timeout;
reminders, 3 working days before a deadline, emit ``application.reminder``, and a 补正 notice
unanswered for 20 working days emits ``application.supplement_reminder``.

Timers are rows. A worker claims one by setting ``fired_at`` with a conditional UPDATE in the same
transaction as its effects, so each timer fires exactly once however many workers run, and a
worker killed mid-way leaves its timer unclaimed for the next run. On PostgreSQL the claiming
transaction first locks the row with SKIP LOCKED, so a second worker skips a timer being fired
instead of waiting for that transaction to commit (SQLite has one writer anyway).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session, col, func, select, update

from api.db.models import Application, AuditEvent, Timer
from api.services import outbox, workflows
from api.services.audit_trail import append_event
from api.services.context import Context
from api.services.stepping import apply_transition
from engine.deadlines import SUPPLEMENT_REMINDER_DAYS, StepClock
from engine.errors import GreenlaneError
from engine.escalation import BASIS as ESCALATION_BASIS
from engine.escalation import escalation_targets
from engine.runner import SYSTEM_ACTOR
from engine.working_days import end_of_day, shanghai_day

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
        return [timer_id for timer_id in session.exec(query).all() if timer_id is not None]


def _fire_timer(context: Context, timer_id: int, now: datetime) -> int:
    """Claim and act (mark overdue and fire the timeout, or remind) in ONE transaction: a crash or
    an unexpected error rolls the claim back too, so the timer stays due for the next run."""
    with context.db.write() as session:
        if not context.db.is_sqlite and _locked_elsewhere(session, timer_id):
            return 0  # another worker is firing it right now: skip it rather than wait for its commit
        claimed = session.exec(
            update(Timer).where(col(Timer.id) == timer_id, col(Timer.fired_at).is_(None)).values(fired_at=now)
        ).rowcount
        if claimed != 1:  # another worker fired it first
            return 0
        timer = session.get(Timer, timer_id)
        assert timer is not None
        # the row lock makes a racing transition finish first (PostgreSQL); then we see its result
        application = session.get(Application, timer.application_id, with_for_update=True)
        if application is None or not _is_current(context, session, timer, application):
            return 0  # the step moved on, paused, resumed or was recalculated since the timer was set
        if not _act(context, session, application, timer, now):
            return 0
    log.info("timer_fired", timer_id=timer_id, application_id=timer.application_id, state=timer.state, kind=timer.kind)
    return 1


def _locked_elsewhere(session: Session, timer_id: int) -> bool:
    query = select(Timer.id).where(col(Timer.id) == timer_id).with_for_update(skip_locked=True)
    return session.exec(query).first() is None


def _act(context: Context, session: Session, application: Application, timer: Timer, now: datetime) -> bool:
    if timer.kind == "reminder":
        return _remind(session, application, now)
    if timer.kind == "supplement_reminder":
        return _remind_of_supplement(session, application, timer, now)
    if timer.kind == "late":  # days after a missed deadline: the state's late action, once
        late = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
        action = late.states_by_id[application.state].late
        if action is None:
            return False
        _fire_system(context, session, application, action.then, "逾期未办结，系统自动办理")
        return True
    if _is_deadline(application):
        _mark_overdue(context, session, application, timer, now)
    _fire_timeout(context, session, application)
    return True


def _is_deadline(application: Application) -> bool:
    """A natural-day limit is a 公示 period: a minimum that must pass, nobody's deadline, so its end
    is no overdue (the inbox and the pages say 公示期已满); its on_timeout may still fire."""
    clock = StepClock.from_json(application.clock)
    return clock is not None and clock.unit != "natural_days"


def _is_current(context: Context, session: Session, timer: Timer, application: Application) -> bool:
    if timer.kind == "supplement_reminder":  # no clock: current while the notice is the last transition
        spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
        transitions = {t.id for t in spec.transitions}
        last = session.exec(
            select(func.max(AuditEvent.seq)).where(
                col(AuditEvent.application_id) == application.id, col(AuditEvent.action).in_(transitions)
            )
        ).one()
        return application.state == timer.state and last == timer.clock_generation
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
    spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
    targets = escalation_targets(spec, timer.state, application.district)
    append_event(
        session, at=now, actor=SYSTEM_ACTOR, application_id=application.id, action="escalation",
        from_state=application.state, to_state=application.state,
        data={"state": timer.state, "escalated_to": targets, "basis": ESCALATION_BASIS},
    )  # fmt: skip


def _remind(session: Session, application: Application, now: datetime) -> bool:
    """``application.reminder`` to whoever acts on the step; a notification, not an audit entry (S16).
    A reminder that comes too late (the worker was down past the deadline) is dropped: the
    deadline's own timer reports the step overdue."""
    clock = StepClock.from_json(application.clock)
    assert clock is not None and clock.due is not None
    if shanghai_day(now) > clock.due:
        return False
    reminder = {"state": clock.state, "due": clock.due.isoformat(), "deadline": end_of_day(clock.due).isoformat(),
                "unit": clock.unit, "limit": clock.limit, "provisional": clock.provisional}  # fmt: skip
    outbox.record_notice(session, "application.reminder", application, now, {"reminder": reminder})
    return True


def _remind_of_supplement(session: Session, application: Application, timer: Timer, now: datetime) -> bool:
    """``application.supplement_reminder``: the 补正 notice is unanswered after 20 working days; the
    office may now close the application as lapsed (PROCESS.md §4.3). A notification only."""
    reminder = {"state": timer.state, "working_days": SUPPLEMENT_REMINDER_DAYS,
                "notified_at": timer.created_at.isoformat()}  # fmt: skip
    outbox.record_notice(session, "application.supplement_reminder", application, now, {"reminder": reminder})
    return True


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
