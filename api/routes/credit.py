"""Credit records of the 告知承诺制 fast path (authorities and admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ContextDep, CurrentActor, RowId
from api.services import credit

router = APIRouter(prefix="/api/v1/credit-records", tags=["credit"])


class LiftBar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


@router.get("")
def list_credit_records(context: ContextDep, actor: CurrentActor) -> list[dict[str, Any]]:
    return credit.list_records(context, actor)


@router.post("/{record_id}/lift")
def lift_credit_bar(record_id: RowId, body: LiftBar, context: ContextDep, actor: CurrentActor) -> dict[str, Any]:
    return credit.lift_bar(context, actor, record_id, body.reason)
