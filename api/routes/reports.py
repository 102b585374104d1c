"""Statistics reports (REPORTS.md R1 section A, R5): JSON, or CSV with ``?format=csv``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import ContextDep, CurrentActor
from api.schemas import MonthlyReport, OverdueReport
from api.services import reports
from api.services.reports import ReportFilter

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV (UTF-8 with BOM) with format=csv"}
}


@router.get("/overdue", response_model=OverdueReport, responses=CSV)
def overdue_list(
    context: ContextDep,
    actor: CurrentActor,
    district: str | None = None,
    workflow: str | None = None,
    include_due_soon: bool = False,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """R5 超期清单: open steps past their deadline, most working days overdue first."""
    report = reports.overdue_list(context, actor, ReportFilter(district, workflow), include_due_soon)
    if format == "csv":
        return _csv(reports.overdue_csv(report), f"overdue-{report.as_of.isoformat()}.csv")
    return report


@router.get("/monthly", response_model=MonthlyReport, responses=CSV)
def monthly_report(
    context: ContextDep,
    actor: CurrentActor,
    month: str,
    district: str | None = None,
    workflow: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """R1 月度通报 section A for ``month`` (YYYY-MM): rows district × workflow, each district's total, the total."""
    report = reports.monthly_report(context, actor, month, ReportFilter(district, workflow))
    if format == "csv":
        return _csv(reports.monthly_csv(report), f"monthly-{report.month}.csv")
    return report


def _csv(text: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=headers)
