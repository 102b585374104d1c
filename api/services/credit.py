"""Credit records and fast-path bars of the 告知承诺制 (国办发〔2020〕42号; 行政许可法 §78, §79).

A revoked commitment writes a record against the applicant's organisation and bars it from the
fast path for a configured period (default 12 months; 36 when the approval was obtained by fraud).
The bar lapses on its date or is lifted by an admin with a reason (信用修复), audited. The credit
platform may report a serious bad-credit record, which bars until it reports the repair; a
rectification left undone is pushed to the platform on the 6th day after its deadline (no bar).
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.db.models import Application, CreditRecord
from api.services import outbox
from api.services.audit_trail import append_event
from api.services.auth import require_admin
from api.services.context import Context
from engine.deadlines import StepClock
from engine.errors import InvalidData, NotFound, PermissionDenied
from engine.runner import Actor, Fired
from engine.working_days import shanghai_day

# A serious bad-credit record reported by the credit platform bars the fast path until the platform
# reports it repaired (信用修复), not until a date: its bar_until is this sentinel, its repair is ``lifted_at``.
UNTIL_REPAIRED = date(9999, 12, 31)


def barred_until(session: Session, organisation: str, today: date) -> date | None:
    """The last day of the organisation's dated fast-path bar in force on ``today``, or None."""
    query = select(func.max(CreditRecord.bar_until)).where(
        CreditRecord.organisation == organisation,
        col(CreditRecord.lifted_at).is_(None),
        col(CreditRecord.bar_until) >= today,
        col(CreditRecord.bar_until) < UNTIL_REPAIRED,
    )
    return session.exec(query).one()


def has_unrepaired_record(session: Session, organisation: str) -> bool:
    """Whether the credit platform reported a serious bad-credit record that it has not reported repaired."""
    return _unrepaired(session, organisation).first() is not None


def _unrepaired(session: Session, organisation: str) -> Any:
    return session.exec(
        select(CreditRecord).where(
            CreditRecord.organisation == organisation,
            col(CreditRecord.lifted_at).is_(None),
            CreditRecord.bar_until == UNTIL_REPAIRED,
        )
    )


def record_platform_report(
    session: Session, application: Application, fired: Fired, actor: Actor, now: datetime
) -> dict[str, Any]:
    """The credit platform's report on the applicant: a serious bad-credit record is stored against the
    organisation (one open record at most); a clean report marks the open ones repaired. Returns the audit facts."""
    assert application.id is not None
    organisation, number = application.applicant_organisation, fired.input.get("credit_record_no")
    basis = "N: 国办发〔2020〕42号 (严重失信主体不适用告知承诺制，信用修复后恢复)"
    facts = {"source": actor.username, "organisation": organisation, "credit_record_no": number, "basis": basis}
    if fired.input.get("serious_bad_credit"):
        record = _unrepaired(session, organisation).first()
        if record is None:
            reason = f"信用信息平台报告严重失信记录（{number or '未注明编号'}）"
            record = CreditRecord(organisation=organisation, application_id=application.id, bar_until=UNTIL_REPAIRED,
                                  reason=reason, created_at=now, created_by=actor.username)  # fmt: skip
            session.add(record)
            session.flush()
        return {**facts, "serious_bad_credit": True, "credit_record": record.id}
    repaired = list(_unrepaired(session, organisation).all())
    for record in repaired:
        record.lifted_at, record.lifted_by = now, actor.username
        record.lift_reason = f"信用信息平台报告已完成信用修复（{number or '未注明编号'}）"
        session.add(record)
    return {**facts, "serious_bad_credit": False, "repaired_records": [record.id for record in repaired]}


def write_record(
    session: Session, context: Context, application: Application, fired: Fired, actor: Actor, now: datetime
) -> CreditRecord:
    """Inside the revoking transaction: the record, its audit entry and its outbox event."""
    fraud = bool(fired.input.get("obtained_by_fraud"))
    months = context.settings.commitment_fraud_bar_months if fraud else context.settings.commitment_bar_months
    assert application.id is not None
    record = CreditRecord(
        organisation=application.applicant_organisation, application_id=application.id,
        reason=str(fired.input.get("revoke_reason") or fired.transition.title), obtained_by_fraud=fraud,
        bar_until=last_day_of_bar(shanghai_day(now), months), created_at=now, created_by=actor.username,
    )  # fmt: skip
    session.add(record)
    session.flush()
    event = append_event(
        session, at=now, actor=actor, application_id=application.id, action="credit_record_written",
        from_state=application.state, to_state=application.state, data=_record_facts(record, months),
    )  # fmt: skip
    outbox.record_event(session, "credit_record.written", application, event)
    return record


def pushed_record(application: Application, clock: StepClock | None) -> dict[str, Any]:
    """What goes to the credit platform when a commitment is not kept by its deadline (no bar here:
    the bar comes with 撤销)."""
    return {
        "organisation": application.applicant_organisation,
        "application_id": application.id,
        "reason": "未在整改期限内完成整改，承诺未履行",
        "deadline": clock.due.isoformat() if clock and clock.due else None,
        "basis": "N: 国办发〔2020〕42号; 广州 (承诺期限届满第 6 日推送信用平台)",
    }


def list_records(context: Context, actor: Actor) -> list[dict[str, Any]]:
    if actor.roles <= {"applicant"}:
        raise PermissionDenied("只有审批部门和系统管理员可以查看信用记录")
    with context.db.read() as session:
        today = shanghai_day(context.clock.now())
        rows = session.exec(select(CreditRecord).order_by(col(CreditRecord.id).desc())).all()
        return [_public(row, today) for row in rows]


def lift_bar(context: Context, actor: Actor, record_id: int, reason: str) -> dict[str, Any]:
    """信用修复: an admin lifts a bar early, with a reason; the audit trail says who and why."""
    require_admin(actor, "解除限制")
    if not reason.strip():
        raise InvalidData("解除限制须填写理由", field="reason")
    now = context.clock.now()
    with context.db.write() as session:
        record = session.get(CreditRecord, record_id)
        if record is None:
            raise NotFound(f"未找到信用记录 {record_id}", record_id=record_id)
        if record.lifted_at is not None:
            raise InvalidData("该限制已解除", field="record_id")
        record.lifted_at, record.lifted_by, record.lift_reason = now, actor.username, reason
        session.add(record)
        event = append_event(
            session, at=now, actor=actor, application_id=record.application_id, action="credit_bar_lifted",
            from_state=None, to_state=None, comment=reason, data={"credit_record": record_id},
        )  # fmt: skip
        application = session.get(Application, record.application_id)
        if application is not None:  # the credit platform hears of a repair as it heard of the record
            outbox.record_event(session, "credit_record.lifted", application, event)
        return _public(record, shanghai_day(now))


def last_day_of_bar(start: date, months: int) -> date:
    """A bar of 12 months from 2026-05-20 runs to 2027-05-19 inclusive (SCENARIOS S10, S11)."""
    return add_months(start, months) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def _record_facts(record: CreditRecord, months: int) -> dict[str, Any]:
    article = "§79" if record.obtained_by_fraud else "§78"
    basis = f"N: 国办发〔2020〕42号; 行政许可法 {article}"
    return {
        "credit_record": record.id,
        "organisation": record.organisation,
        "obtained_by_fraud": record.obtained_by_fraud,
        "bar_months": months,
        "bar_until": record.bar_until.isoformat(),
        "basis": basis,
    }


def _public(record: CreditRecord, today: date) -> dict[str, Any]:
    in_force = record.lifted_at is None and record.bar_until >= today
    until_repaired = record.bar_until == UNTIL_REPAIRED
    return {
        "id": record.id, "organisation": record.organisation, "application_id": record.application_id,
        "reason": record.reason, "obtained_by_fraud": record.obtained_by_fraud,
        "bar_until": None if until_repaired else record.bar_until.isoformat(), "bar_in_force": in_force,
        "until_repaired": until_repaired,
        "created_at": record.created_at.isoformat(), "created_by": record.created_by,
        "lifted_at": record.lifted_at.isoformat() if record.lifted_at else None,
        "lifted_by": record.lifted_by, "lift_reason": record.lift_reason,
    }  # fmt: skip
