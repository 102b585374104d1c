"""Statistics pages for officials: R5 超期清单 and R1 月度通报 section A, each with its CSV."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.services import reports
from api.services.context import Context
from api.services.reports import ReportFilter
from engine.working_days import shanghai_day
from web.rendering import ContextDep, PageActor, PageRoute, render

router = APIRouter(prefix="/reports", route_class=PageRoute, include_in_schema=False)


@router.get("/overdue", response_class=HTMLResponse)
def overdue_page(
    request: Request, context: ContextDep, actor: PageActor, district: str = "", workflow: str = "",
    include_due_soon: bool = False,
) -> HTMLResponse:  # fmt: skip
    report = reports.overdue_list(context, actor, ReportFilter(district or None, workflow or None), include_due_soon)
    districts, workflows = reports.filter_choices(context, actor)
    query = {"district": district, "workflow": workflow, "include_due_soon": include_due_soon}
    values = {"report": report, "districts": districts, "workflows": workflows, "query": query}
    return render(request, "reports_overdue.html", values, actor=actor)


@router.get("/overdue.csv")
def overdue_csv(
    context: ContextDep, actor: PageActor, district: str = "", workflow: str = "", include_due_soon: bool = False
) -> Response:
    report = reports.overdue_list(context, actor, ReportFilter(district or None, workflow or None), include_due_soon)
    return _csv(reports.overdue_csv(report), f"overdue-{report.as_of.isoformat()}.csv")


@router.get("/monthly", response_class=HTMLResponse)
def monthly_page(
    request: Request, context: ContextDep, actor: PageActor, month: str = "", district: str = "", workflow: str = ""
) -> HTMLResponse:
    month = month or _last_month(context)
    report = reports.monthly_report(context, actor, month, ReportFilter(district or None, workflow or None))
    districts, workflows = reports.filter_choices(context, actor)
    query = {"month": report.month, "district": district, "workflow": workflow}
    values = {"report": report, "districts": districts, "workflows": workflows, "query": query}
    return render(request, "reports_monthly.html", values, actor=actor)


@router.get("/monthly.csv")
def monthly_csv(
    context: ContextDep, actor: PageActor, month: str = "", district: str = "", workflow: str = ""
) -> Response:
    query = ReportFilter(district or None, workflow or None)
    report = reports.monthly_report(context, actor, month or _last_month(context), query)
    return _csv(reports.monthly_csv(report), f"monthly-{report.month}.csv")


def _last_month(context: Context) -> str:
    """The month a bulletin is usually asked for: the one before today's (Shanghai)."""
    return (shanghai_day(context.clock.now()).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _csv(text: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=headers)
