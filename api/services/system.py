"""Health, audit verification and the demo clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from api.schemas import AuditVerification
from api.services import scheduler
from api.services.audit_trail import verify_chain
from api.services.auth import require_admin
from api.services.context import Context
from engine.clock import DemoClock
from engine.errors import NotFound
from engine.runner import Actor


def check_database(context: Context) -> None:
    with context.db.read() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]


def verify_audit(context: Context, actor: Actor) -> AuditVerification:
    require_admin(actor, "校验审计链")
    return verify_chain(context)


def _demo_clock(context: Context) -> DemoClock:
    if not context.settings.demo or not isinstance(context.clock, DemoClock):
        raise NotFound("演示时钟仅在 --demo 模式下可用")
    return context.clock


def demo_now(context: Context) -> datetime:
    return _demo_clock(context).now()


def advance_demo_clock(context: Context, actor: Actor, delta: timedelta) -> datetime:
    clock = _demo_clock(context)
    require_admin(actor, "调整演示时钟")
    now = clock.advance(delta)
    scheduler.run_due_timers(context, now)  # timers that fell due fire as they would have
    return now
