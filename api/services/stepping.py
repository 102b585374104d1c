"""One step of an application inside the caller's transaction: engine, clock, compare-and-set, audit.

Shared by users' requests (applications.fire_transition) and the system's timers (scheduler).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, update

from api.db.models import Application, AuditEvent, District
from api.services import credit, outbox
from api.services.audit_trail import append_event
from api.services.calendar import work_calendar
from api.services.context import Context
from api.services.timers import schedule_deadline, schedule_supplement_reminder
from engine.deadlines import StepClock, next_clock, next_process_clock, supplement_reminder_day
from engine.errors import VersionConflict
from engine.runner import SYSTEM_ACTOR, Actor, Case, Fired, StepRunner
from engine.spec import WorkflowSpec
from engine.working_days import end_of_day, shanghai_day

ROUTING_FACTS = ("district", "level", "major", "cross_district", "city_level", "changes_land",
                 "changes_structure", "low_risk", "commitment")  # fmt: skip


@dataclass(frozen=True)
class Applied:
    application: Application
    fired: Fired
    event: AuditEvent


def case_of(
    session: Session, application: Application, today: date | None = None, spec: WorkflowSpec | None = None
) -> Case:
    """The engine's view of ``application``; the credit bar is looked up only for workflows that ask."""
    district = session.get(District, application.district) if application.district else None
    asks_bar = spec is None or any(t.requires.not_barred for t in spec.transitions)
    return Case(
        state=application.state,
        data=application.data,
        applicant_id=application.applicant_id,
        applicant_organisation=application.applicant_organisation,
        level=district.level if district else None,
        outcome=application.outcome,
        clock=StepClock.from_json(application.clock),
        today=today,
        joint=application.joint,
        barred_until=credit.barred_until(session, application.applicant_organisation, today)
        if today and asks_bar
        else None,
        credit_unrepaired=asks_bar and credit.has_unrepaired_record(session, application.applicant_organisation),
    )


def apply_transition(
    session: Session,
    context: Context,
    runner: StepRunner,
    application: Application,
    actor: Actor,
    transition: str,
    comment: str,
    data: dict[str, Any],
    extra_facts: dict[str, Any] | None = None,
) -> Applied:
    """Fire ``transition`` on ``application`` as ``actor``; raises the engine's errors or
    VersionConflict, and then nothing is written (the caller's transaction rolls back)."""
    now = context.clock.now()
    today = shanghai_day(now)
    fired = runner.fire(case_of(session, application, today, runner.spec), actor, transition, comment, data)
    calendar = work_calendar(context, session)
    before = StepClock.from_json(application.clock)
    spec = runner.spec
    clock = next_clock(spec, before, fired.transition, fired.from_state, fired.to_state, today, calendar, comment,
                       fired.facts)  # fmt: skip
    process_before = StepClock.from_json(application.process_clock)
    process = next_process_clock(spec, process_before, fired.transition, fired.to_state, today, calendar, fired.facts)
    expected = application.version
    # a new or changed step clock clears the overdue mark; otherwise the column keeps whatever the
    # scheduler wrote, even after this request read the row
    reset = {"overdue": False} if clock != before else {}
    written = session.exec(  # the WHERE re-checks version, so a racing writer loses
        update(Application)
        .where(col(Application.id) == application.id, col(Application.version) == expected)
        .values(
            **reset,
            state=fired.to_state,
            outcome=fired.outcome,
            version=expected + 1,
            data=fired.data,
            district=fired.data.get("district"),
            updated_at=now,
            clock=clock.to_json() if clock else None,
            joint=fired.joint,
            process_clock=process.to_json() if process else None,
            deadline=end_of_day(clock.due) if clock and clock.due else None,
        )
    ).rowcount
    if written != 1:
        raise VersionConflict(expected=expected)
    session.refresh(application)
    if clock is not None and clock != before:
        schedule_deadline(session, application, clock, now, calendar, spec)
    facts = {**audit_facts(application, fired), **_clock_facts(before, clock), **(extra_facts or {})}
    facts |= _decision_facts(session, application, fired, actor, before, now)
    if (profile := spec.profile_for(fired.facts)) is not None:
        facts["profile"] = profile.id  # the shorter limits in force (e.g. 简易低风险)
    event = append_event(
        session, at=now, actor=actor, application_id=application.id, action=fired.transition.id,
        from_state=fired.from_state, to_state=fired.to_state, comment=comment, data=facts,
    )  # fmt: skip
    outbox.record_event(session, "application.transitioned", application, event)  # same transaction
    if remind_on := supplement_reminder_day(spec, fired.transition, fired.to_state, today, calendar):
        schedule_supplement_reminder(session, application, remind_on, now, event.seq)
    if fired.transition.records_credit:
        credit.write_record(session, context, application, fired, actor, now)
    if fired.transition.pushes_credit:  # the credit platform subscribes to this event
        outbox.record_event(session, "credit_record.pushed", application, event)
    if fired.joint_complete:  # every 会签 branch approved or skipped: the system moves on at once
        joint = spec.states_by_id[fired.to_state].joint
        assert joint is not None
        return apply_transition(session, context, runner, application, SYSTEM_ACTOR, joint.then, "会签完成", {})
    return Applied(application, fired, event)


def _decision_facts(
    session: Session, application: Application, fired: Fired, actor: Actor, before: StepClock | None, now: datetime
) -> dict[str, Any]:
    """What this kind of decision adds to its audit entry (and, for a credit report, writes)."""
    facts: dict[str, Any] = {}
    if fired.joint is not None:
        facts["joint"] = fired.joint  # each branch's decision, and why a branch was skipped
    if fired.joint_opinions is not None:
        facts["joint_opinions"] = fired.joint_opinions  # every joint reviewer's reasons, sent back together
    if fired.notice is not None:
        facts["notice"] = fired.notice  # the 补正 notice's items, its number on this step, and the reason
    if fired.transition.pushes_credit:
        facts["credit"] = credit.pushed_record(application, before)
    if fired.transition.reports_credit:
        facts["credit"] = credit.record_platform_report(session, application, fired, actor, now)
    return facts


def audit_facts(application: Application, fired: Fired) -> dict[str, Any]:
    condition = fired.transition.condition
    read = set(condition.names if condition else ()) | {"district", "level"}
    return {
        "transition": fired.transition.id,
        "kind": fired.transition.kind,
        "workflow": application.workflow_key,
        "workflow_version": application.workflow_version,
        "basis": fired.transition.basis,
        "input": fired.input,
        # what was signed or decided, verbatim and hashed (e.g. the 告知承诺书 text)
        "input_sha256": hashlib.sha256(_canonical(fired.input).encode()).hexdigest() if fired.input else None,
        "routing": {name: fired.facts.get(name) for name in ROUTING_FACTS if name in read or name in fired.facts},
        # every fact the guard read, e.g. the six 民法典 §278 vote figures, and that it held
        "guard": {"when": fired.transition.when, "facts": {n: fired.facts.get(n) for n in sorted(read)}, "held": True}
        if condition
        else None,
        "outcome": fired.outcome,
    }


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _clock_facts(before: StepClock | None, after: StepClock | None) -> dict[str, Any]:
    if before == after:
        return {}
    return {"clock": {"before": before.to_json() if before else None, "after": after.to_json() if after else None}}
