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


MAX_ADVANCE = timedelta(days=3660)  # ten years a step: more than any statutory limit, far from datetime's end
_DURATION = re.compile(r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$")


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: str

    @field_validator("advance")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        match = _DURATION.match(value)
        if value in ("P", "PT") or not match:
            raise ValueError("应为 ISO 8601 时长，如 P31D、PT2H")
        if _delta(match) > MAX_ADVANCE:
            raise ValueError(f"演示时钟每次最多前进 {MAX_ADVANCE.days} 天")
        return value

    def delta(self) -> timedelta:
        match = _DURATION.match(self.advance)
        assert match is not None
        return _delta(match)


def _delta(match: re.Match[str]) -> timedelta:
    parts = {name: min(int(value), 10**6) for name, value in match.groupdict().items() if value}  # caps a huge
    return timedelta(**parts)  # number of days well below timedelta's own limit, then MAX_ADVANCE refuses it


class ClockNow(BaseModel):
    now: datetime


@router.get("/api/v1/demo/clock")
def demo_clock(context: ContextDep, actor: CurrentActor) -> ClockNow:
    return ClockNow(now=system.demo_now(context))


@router.post("/api/v1/demo/clock")
def advance_demo_clock(body: ClockAdvance, context: ContextDep, actor: CurrentActor) -> ClockNow:
    return ClockNow(now=system.advance_demo_clock(context, actor, body.delta()))
