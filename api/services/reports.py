"""Statistics reports for officials (REPORTS.md): R1 月度通报 section A and R5 超期清单, with CSV export.

The figures are computed by engine.reports from plain records of the audit trail; this module
reads them and decides who may see which district.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.db.models import Application, AuditEvent, District
from api.schemas import MonthlyReport, MonthlyRowPublic, OverdueReport, OverdueRowPublic
from api.services import workflows
from api.services.calendar import work_calendar
from api.services.context import Context
from engine.deadlines import StepClock, is_due_soon
from engine.errors import InvalidData, PermissionDenied
from engine.reports import (
    ApplicationRecord,
    Entry,
    Lateness,
    describe_target,
    lateness,
    monthly_table,
    parse_month,
    responsible_roles,
    step_history,
)
from engine.runner import Actor
from engine.working_days import SHANGHAI, end_of_day, shanghai_day

BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with one


@dataclass(frozen=True)
class ReportFilter:
    district: str | None = None
    workflow: str | None = None


def overdue_list(context: Context, actor: Actor, query: ReportFilter, include_due_soon: bool = False) -> OverdueReport:
    """R5: every open step past its deadline today, most working days overdue first (with
    ``include_due_soon``, also those due within 3 working days). Raises PermissionDenied or InvalidData."""
    today = shanghai_day(context.clock.now())
    with context.db.read() as session:
        district = _scope(session, actor, query.district)
        names = _district_names(session)
        calendar = work_calendar(context, session)
        # only `approved` marks states that are not final (awaiting or under 备案); the others end the case
        open_ones = col(Application.outcome).is_(None) | (col(Application.outcome) == "approved")
        statement = _filtered(select(Application).where(open_ones), district, _workflow(context, query.workflow))
        found: list[tuple[Application, StepClock, Lateness | None]] = []
        for application in session.exec(statement.order_by(col(Application.id))).all():
            clock = StepClock.from_json(application.clock)
            late = lateness(clock, today, calendar) if clock else None
            if clock and (late or (include_due_soon and is_due_soon(clock, today, calendar))):
                found.append((application, clock, late))
        entries = _entries(session, [application.id for application, _, _ in found if application.id is not None])
        rows = [_overdue_row(context, a, clock, late, entries[a.id or 0], names) for a, clock, late in found]
    rows.sort(key=lambda row: (-row.overdue_working_days, row.deadline or date.max, row.application_id))
    return OverdueReport(as_of=today, rows=rows)


def _overdue_row(context: Context, application: Application, clock: StepClock, late: Lateness | None,
                 entries: list[Entry], names: dict[str, str]) -> OverdueRowPublic:  # fmt: skip
    assert application.id is not None
    spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
    history = step_history(entries, clock)
    working_days, days = (late.working_days, late.calendar_days) if late is not None else (0, 0)
    return OverdueRowPublic(
        application_id=application.id, title=application.title, workflow=spec.key, workflow_title=spec.title,
        district=application.district, district_name=names.get(application.district or "", ""),
        state=application.state, state_title=spec.states_by_id[application.state].title,
        responsible_roles=responsible_roles(spec, application.state), step_started_on=history.started_on,
        deadline=clock.due, overdue_working_days=working_days, overdue_days=days, due_soon=late is None,
        extended=clock.extended, paused=clock.is_paused, pause_reason=clock.pause_reason,
        escalated_to=history.escalated_to,
        escalated_to_text="、".join(describe_target(target, names) for target in history.escalated_to),
        last_action_at=history.last_action_at,
    )  # fmt: skip


def monthly_report(context: Context, actor: Actor, month_text: str, query: ReportFilter) -> MonthlyReport:
    """R1 section A for ``month_text`` (``2026-04``). Raises InvalidData (a malformed month, an
    unknown district or workflow) or PermissionDenied."""
    month = parse_month(month_text)
    now = context.clock.now()
    if month.first > shanghai_day(now):
        raise InvalidData(f"{month.label} 尚未开始，没有可统计的数据", field="month")
    titles = {summary.key: summary.title for summary in workflows.list_workflows(context)}
    keys = [query.workflow] if query.workflow and _workflow(context, query.workflow) else sorted(titles)
    with context.db.read() as session:
        district = _scope(session, actor, query.district)
        names = _district_names(session)
        districts = [district] if district else sorted(names)
        calendar = work_calendar(context, session)
        statement = select(Application).where(col(Application.created_at) < end_of_day(month.last))
        applications = session.exec(_filtered(statement, district, query.workflow)).all()
        entries = _entries(session, [a.id for a in applications if a.id is not None], before=end_of_day(month.last))
        records = [_record(context, a, entries[a.id]) for a in applications if a.id is not None]
    table = monthly_table(records, month, shanghai_day(now), calendar, districts, keys)
    rows = [
        MonthlyRowPublic(
            district=row.district,
            district_name=names.get(row.district, row.district) if row.district else "全部区县",
            workflow=row.workflow,
            workflow_title=titles.get(row.workflow, row.workflow) if row.workflow else "合计",
            **{name: getattr(row.figures, name) for name in MONTHLY_NUMBERS},
        )
        for row in table
    ]
    return MonthlyReport(month=month.label, as_of=min(month.last, shanghai_day(now)), generated_at=now, rows=rows)


MONTHLY_NUMBERS = ("received", "accepted", "refused", "approved", "rejected", "filed", "withdrawn", "revoked",
                   "open_at_month_end", "overdue_at_month_end", "decided_late", "supplements",
                   "median_net_working_days", "median_gross_working_days")  # fmt: skip


def filter_choices(context: Context, actor: Actor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The districts (code, name) the caller may filter by, and the workflows (key, title); raises PermissionDenied."""
    with context.db.read() as session:
        own = _scope(session, actor, None)
        districts = [(code, name) for code, name in sorted(_district_names(session).items()) if own in (None, code)]
    return districts, [(summary.key, summary.title) for summary in workflows.list_workflows(context)]


def _scope(session: Session, actor: Actor, district: str | None) -> str | None:
    """The district the caller may see: a district or county body its own, city bodies any."""
    if not actor.roles - {"applicant"}:
        raise PermissionDenied("统计报表仅供审批部门查看")
    if district and session.get(District, district) is None:
        raise InvalidData(f"未知的区县 '{district}'", field="district")
    if actor.district is None:
        return district or None
    if district and district != actor.district:
        raise PermissionDenied("只能查看本区县的统计")
    return actor.district


def _workflow(context: Context, key: str | None) -> str | None:
    if key and key not in {summary.key for summary in workflows.list_workflows(context)}:
        raise InvalidData(f"未知的审批事项 '{key}'", field="workflow")
    return key or None


def _filtered(
    statement: SelectOfScalar[Application], district: str | None, workflow: str | None
) -> SelectOfScalar[Application]:
    if district:
        statement = statement.where(Application.district == district)
    if workflow:
        statement = statement.where(Application.workflow_key == workflow)
    return statement


def _district_names(session: Session) -> dict[str, str]:
    return {row.code: row.name for row in session.exec(select(District))}


def _entries(session: Session, ids: Sequence[int], before: datetime | None = None) -> dict[int, list[Entry]]:
    """Each application's audit entries, oldest first (those before ``before`` when given)."""
    found: dict[int, list[Entry]] = defaultdict(list)
    if not ids:
        return found
    statement = select(AuditEvent).where(col(AuditEvent.application_id).in_(ids))
    if before is not None:
        statement = statement.where(col(AuditEvent.at) < before)
    for event in session.exec(statement.order_by(col(AuditEvent.seq))):
        assert event.application_id is not None
        found[event.application_id].append(Entry(event.at, event.actor, event.action, event.to_state, event.data))
    return found


def _record(context: Context, application: Application, entries: list[Entry]) -> ApplicationRecord:
    assert application.id is not None
    spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
    finals = frozenset(state.id for state in spec.states if state.final)
    return ApplicationRecord(application.id, application.workflow_key, application.district, finals, entries)


OVERDUE_COLUMNS = ("申请编号", "申请名称", "审批事项", "区县", "当前环节", "责任角色", "环节开始日期",
                   "办理期限", "超期工作日", "超期自然日", "即将到期", "已延期", "暂停中（原因）",
                   "已提级督办至", "最后办理时间")  # fmt: skip
MONTHLY_COLUMNS = ("区县", "审批事项", "新收件", "受理", "不予受理", "批准", "不予批准", "备案", "撤回",
                   "撤销", "月末在办", "月末超期", "超期办结", "补正次数", "中位办理工作日（净）",
                   "中位办理工作日（总）")  # fmt: skip


def overdue_csv(report: OverdueReport) -> str:
    """The R5 table as CSV with Chinese headers, UTF-8 with a BOM so Excel reads it."""
    return _csv(OVERDUE_COLUMNS, [
        [row.application_id, row.title, row.workflow_title, row.district_name, row.state_title,
         "、".join(row.responsible_roles), row.step_started_on or "", row.deadline or "", row.overdue_working_days,
         row.overdue_days, _yes(row.due_soon), _yes(row.extended),
         f"是（{row.pause_reason}）" if row.paused else "否", row.escalated_to_text,
         row.last_action_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if row.last_action_at else ""]
        for row in report.rows
    ])  # fmt: skip


def monthly_csv(report: MonthlyReport) -> str:
    """R1 section A as CSV with Chinese headers, UTF-8 with a BOM."""
    return _csv(MONTHLY_COLUMNS, [
        [row.district_name, row.workflow_title, *(_number(getattr(row, name)) for name in MONTHLY_NUMBERS)]
        for row in report.rows
    ])  # fmt: skip


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return BOM + buffer.getvalue()
