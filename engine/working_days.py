"""Working days on the Chinese calendar (行政许可法 §82): Mon–Fri minus statutory holidays,
plus the 调休 make-up weekend days of the State Council's yearly notice.

The yearly notices come from the `chinesecalendar` package (years it ships, 2004–2026 in 1.11),
overridden by what admins enter in the database. A day of a year that neither knows is computed
as Monday–Friday minus the fixed-date statutory holidays and marked *provisional*, never
silently trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 《全国年节及纪念日放假办法》(2024): the holidays on fixed Gregorian dates (元旦, 劳动节, 国庆节).
# The lunar ones (春节, 清明, 端午, 中秋) and the 调休 days need the year's notice.
FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


@lru_cache(maxsize=8192)  # chinese_calendar scans its tables on every call; a deadline asks dozens of days
def library_is_workday(day: date) -> bool | None:
    """The library's answer, or None for a year it has no notice for."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class WorkCalendar:
    """``overrides`` (admin-entered days) win over the library; ``declared_years`` are years whose
    notice was entered in full, so a weekday not listed there is a plain working day."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    declared_years: frozenset[int] = frozenset()
    library: Callable[[date], bool | None] = library_is_workday

    def is_known(self, day: date) -> bool:
        return day in self.overrides or day.year in self.declared_years or self.library(day) is not None

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.declared_years:
            return day.weekday() < 5
        known = self.library(day)
        if known is not None:
            return known
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS

    def is_span_known(self, start: date, end: date) -> bool:
        """Whether every day after ``start`` up to and including ``end`` is known."""
        return all(self.is_known(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))


@dataclass(frozen=True)
class DueDate:
    day: date  # the deadline is 24:00 of this day, Asia/Shanghai
    provisional: bool  # some day counted lies in a year without a holiday notice

    @property
    def ends_at(self) -> datetime:
        return end_of_day(self.day)


def shanghai_day(moment: datetime) -> date:
    """The calendar day in Shanghai on which ``moment`` happened (not UTC's day)."""
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """24:00 of ``day`` in Shanghai, as UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC)


def add_working_days(start: date, count: int, calendar: WorkCalendar) -> DueDate:
    """The ``count``-th working day after ``start`` (the start day itself is not counted)."""
    day, provisional = start, False
    for _ in range(count):
        day += timedelta(days=1)
        provisional |= not calendar.is_known(day)
        while not calendar.is_workday(day):
            day += timedelta(days=1)
            provisional |= not calendar.is_known(day)
    return DueDate(day, provisional)


def add_natural_days(start: date, count: int) -> DueDate:
    return DueDate(start + timedelta(days=count), provisional=False)


def working_days_between(start: date, end: date, calendar: WorkCalendar) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += calendar.is_workday(day)
    return days
