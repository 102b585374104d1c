"""Health, audit verification and the demo clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, field_validator

from api.deps import ContextDep, CurrentActor
from api.schemas import AuditVerification
from api.services import system

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz(context: ContextDep) -> dict[str, str]:
    system.check_database(context)
    return {"status": "ok"}


@router.get("/api/v1/audit/verify")
def verify_audit(context: ContextDep, actor: CurrentActor) -> AuditVerification:
    return system.verify_audit(context, actor)


_DURATION = re.compile(r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$")


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: str

    @field_validator("advance")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        if value in ("P", "PT") or not _DURATION.match(value):
            raise ValueError("应为 ISO 8601 时长，如 P31D、PT2H")
        return value

    def delta(self) -> timedelta:
        match = _DURATION.match(self.advance)
        assert match is not None
        parts = {name: int(value) for name, value in match.groupdict().items() if value}
        return timedelta(**parts)


class ClockNow(BaseModel):
    now: datetime


@router.get("/api/v1/demo/clock")
def demo_clock(context: ContextDep, actor: CurrentActor) -> ClockNow:
    return ClockNow(now=system.demo_now(context))


@router.post("/api/v1/demo/clock")
def advance_demo_clock(body: ClockAdvance, context: ContextDep, actor: CurrentActor) -> ClockNow:
    return ClockNow(now=system.advance_demo_clock(context, actor, body.delta()))
