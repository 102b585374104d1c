"""The working-day calendar: admins enter a year's State Council holiday notice."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from api.deps import ContextDep, CurrentActor
from api.services import calendar

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])


@router.put("/{year}")
def import_year(
    year: int, context: ContextDep, actor: CurrentActor, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Body: ``{"source": "...", "holidays": ["2027-01-01", "2027-02-05..2027-02-11"], "workdays": [...]}``."""
    notice = calendar.parse_notice({**body, "year": year})
    return calendar.import_year(context, actor, notice)


@router.get("/{year}")
def show_year(year: int, context: ContextDep, actor: CurrentActor) -> dict[str, Any]:
    return calendar.describe_year(context, year)
