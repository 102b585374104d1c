"""Credit records and fast-path bars of the 告知承诺制 (国办发〔2020〕42号; 行政许可法 §78, §79).

A revoked commitment writes a record against the applicant's organisation and bars it from the
fast path for a configured period (default 12 months; 36 when the approval was obtained by fraud).
The bar lapses on its date or is lifted by an admin with a reason (信用修复), audited.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.db.models import Application, CreditRecord
from api.services import outbox
from api.services.audit_trail import append_event
from api.services.context import Context
from engine.errors import InvalidData, NotFound, PermissionDenied
from engine.runner import Actor, Fired
from engine.working_days import shanghai_day


def barred_until(session: Session, organisation: str, today: date) -> date | None:
    """The last day of the organisation's fast-path bar in force on ``today``, or None."""
    query = select(func.max(CreditRecord.bar_until)).where(
        CreditRecord.organisation == organisation,
        col(CreditRecord.lifted_at).is_(None),
        col(CreditRecord.bar_until) >= today,
    )
    return session.exec(query).one()


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
        bar_until=add_months(shanghai_day(now), months), created_at=now, created_by=actor.username,
    )  # fmt: skip
    session.add(record)
    session.flush()
    event = append_event(
        session, at=now, actor=actor, application_id=application.id, action="credit_record_written",
        from_state=application.state, to_state=application.state, data=_record_facts(record, months),
    )  # fmt: skip
    outbox.record_event(session, "credit_record.written", application, event)
    return record


def list_records(context: Context, actor: Actor) -> list[dict[str, Any]]:
    if actor.roles <= {"applicant"}:
        raise PermissionDenied("只有审批部门和系统管理员可以查看信用记录")
    with context.db.read() as session:
        today = shanghai_day(context.clock.now())
        rows = session.exec(select(CreditRecord).order_by(col(CreditRecord.id).desc())).all()
        return [_public(row, today) for row in rows]


def lift_bar(context: Context, actor: Actor, record_id: int, reason: str) -> dict[str, Any]:
    """信用修复: an admin lifts a bar early, with a reason; the audit trail says who and why."""
    if "admin" not in actor.roles:
        raise PermissionDenied("只有系统管理员可以解除限制")
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
        append_event(
            session, at=now, actor=actor, application_id=record.application_id, action="credit_bar_lifted",
            from_state=None, to_state=None, comment=reason, data={"credit_record": record_id},
        )  # fmt: skip
        return _public(record, shanghai_day(now))


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
    return {
        "id": record.id, "organisation": record.organisation, "application_id": record.application_id,
        "reason": record.reason, "obtained_by_fraud": record.obtained_by_fraud,
        "bar_until": record.bar_until.isoformat(), "bar_in_force": in_force,
        "created_at": record.created_at.isoformat(), "created_by": record.created_by,
        "lifted_at": record.lifted_at.isoformat() if record.lifted_at else None,
        "lifted_by": record.lifted_by, "lift_reason": record.lift_reason,
    }  # fmt: skip
