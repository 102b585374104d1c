"""The working-day calendar: the library's notices plus what admins entered in the database."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from api.db.models import CalendarDay, CalendarYear
from api.services.auth import require_admin
from api.services.context import Context
from api.services.recalculation import recalculate_provisional_deadlines
from engine.errors import InvalidData
from engine.runner import Actor
from engine.working_days import WorkCalendar


@dataclass(frozen=True)
class YearNotice:
    """One year's State Council holiday notice: days off on weekdays, make-up working weekend days."""

    year: int
    holidays: list[date]
    workdays: list[date]
    source: str = ""


def work_calendar(context: Context, session: Session) -> WorkCalendar:
    """The calendar in force, rebuilt when an import (in any process) changed it.

    Whether it changed is asked at most once a second: a step asks twice, and imports are yearly.
    """
    now = time.monotonic()
    cached = context.calendar_cache.get("calendar")
    if cached is not None and now - cached[2] < 1.0:
        return cast(WorkCalendar, cached[1])
    stamp = tuple(session.exec(select(func.count(), func.max(CalendarYear.imported_at))).one())
    calendar = cached[1] if cached is not None and cached[0] == stamp else load_calendar(session)
    context.calendar_cache["calendar"] = (stamp, calendar, now)
    return cast(WorkCalendar, calendar)


def load_calendar(session: Session) -> WorkCalendar:
    overrides = {row.day: row.is_workday for row in session.exec(select(CalendarDay))}
    years = frozenset(session.exec(select(CalendarYear.year)).all())
    return WorkCalendar(overrides=overrides, declared_years=years)


def import_year(context: Context, actor: Actor, notice: YearNotice) -> dict[str, Any]:
    """Replace the year's entered days with ``notice`` (admin only) and, in the same transaction,
    recalculate every open provisional deadline on the new calendar. Raises PermissionDenied or
    InvalidData (a malformed, duplicate or out-of-year date), and then nothing changes."""
    require_admin(actor, "录入节假日安排")
    _check_notice(notice)
    now = context.clock.now()
    with context.db.write() as session:
        before = load_calendar(session)
        first, last = date(notice.year, 1, 1), date(notice.year, 12, 31)
        session.exec(delete(CalendarDay).where(col(CalendarDay.day) >= first, col(CalendarDay.day) <= last))
        for day in notice.holidays:
            session.add(CalendarDay(day=day, is_workday=False, note="法定节假日"))
        for day in notice.workdays:
            session.add(CalendarDay(day=day, is_workday=True, note="调休上班"))
        existing = session.get(CalendarYear, notice.year)
        if existing is not None:
            session.delete(existing)
            session.flush()
        session.add(CalendarYear(year=notice.year, source=notice.source, imported_at=now,
                                 imported_by=actor.username))  # fmt: skip
        session.flush()
        after = load_calendar(session)
        recalculated = recalculate_provisional_deadlines(context, session, actor, before, after, notice.year)
    context.calendar_cache.pop("calendar", None)  # this process sees it at once, others within a second
    return {"year": notice.year, "holidays": len(notice.holidays), "workdays": len(notice.workdays),
            "recalculated": recalculated}  # fmt: skip


def parse_notice(data: Any) -> YearNotice:
    """From ``{"year": 2027, "source": "...", "holidays": [...], "workdays": [...]}``; a list item is a
    date (``2027-01-01``) or an inclusive range (``2027-02-05..2027-02-11``)."""
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise InvalidData("节假日安排须为映射，并给出整数 year", field="year")
    unknown = set(data) - {"year", "source", "holidays", "workdays"}
    if unknown:
        raise InvalidData(f"未知的键：{', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    return YearNotice(
        year=data["year"],
        holidays=_days(data.get("holidays") or [], "holidays"),
        workdays=_days(data.get("workdays") or [], "workdays"),
        source=str(data.get("source") or ""),
    )


def _days(items: Any, field: str) -> list[date]:
    if not isinstance(items, list):
        raise InvalidData(f"{field} 应为日期列表", field=field)
    days: list[date] = []
    for item in items:
        text = item.isoformat() if isinstance(item, date) else str(item)
        start, _, end = text.partition("..")
        try:
            first, last = date.fromisoformat(start.strip()), date.fromisoformat((end or start).strip())
        except ValueError:
            raise InvalidData(f"{field} 中的日期无效：{text}", field=field) from None
        if last < first:
            raise InvalidData(f"{field} 中的日期范围倒置：{text}", field=field)
        days += [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return days


def _check_notice(notice: YearNotice) -> None:
    if not 2000 <= notice.year <= 2100:
        raise InvalidData(f"年份超出范围：{notice.year}", field="year")
    for day in [*notice.holidays, *notice.workdays]:
        if day.year != notice.year:
            raise InvalidData(f"{day.isoformat()} 不在 {notice.year} 年内", field="holidays")
    for name, days in (("holidays", notice.holidays), ("workdays", notice.workdays)):
        repeated = sorted(day for day, count in Counter(days).items() if count > 1)
        if repeated:
            raise InvalidData(f"{name} 中的日期重复：{repeated[0].isoformat()}", field=name)
    both = set(notice.holidays) & set(notice.workdays)
    if both:
        raise InvalidData(f"{min(both).isoformat()} 同时列为节假日和工作日", field="workdays")


def describe_year(context: Context, year: int) -> dict[str, Any]:
    """Which days of ``year`` are off on weekdays and worked on weekends, and whether it is known."""
    if not 1900 <= year <= 2200:
        raise InvalidData(f"年份超出范围：{year}", field="year")
    with context.db.read() as session:
        calendar = work_calendar(context, session)
    days = [date(year, 1, 1) + timedelta(days=n) for n in range((date(year, 12, 31) - date(year, 1, 1)).days + 1)]
    return {
        "year": year,
        "known": all(calendar.is_known(day) for day in days),
        "entered": year in calendar.declared_years,
        "weekday_holidays": [d.isoformat() for d in days if d.weekday() < 5 and not calendar.is_workday(d)],
        "weekend_workdays": [d.isoformat() for d in days if d.weekday() >= 5 and calendar.is_workday(d)],
    }
