"""engine.reports on plain records: months, lateness, and R1's counting rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from engine.deadlines import StepClock
from engine.errors import InvalidData
from engine.reports import ApplicationRecord, Entry, Month, lateness, monthly_figures, parse_month
from engine.working_days import SHANGHAI, WorkCalendar

CALENDAR = WorkCalendar()
APRIL = parse_month("2026-04")


def test_months() -> None:
    assert parse_month("2026-02") == Month(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_month("2026-12").last == date(2026, 12, 31)
    for text in ("2026-00", "2026-13", "26-04", "2026/04", ""):
        with pytest.raises(InvalidData):
            parse_month(text)


def test_lateness_counts_working_and_calendar_days_after_the_deadline() -> None:
    clock = StepClock("planning_review", "working_days", 20, date(2026, 8, 3), due=date(2026, 8, 31))
    assert lateness(clock, date(2026, 8, 31), CALENDAR) is None  # due at 24:00
    late = lateness(clock, date(2026, 9, 7), CALENDAR)
    assert late is not None and (late.working_days, late.calendar_days) == (5, 7)
    paused = StepClock("planning_review", "working_days", 20, date(2026, 8, 3), used_before=22,
                       paused_on=date(2026, 9, 2))  # fmt: skip
    late = lateness(paused, date(2026, 9, 20), CALENDAR)  # frozen at the pause: 09-01 and 09-02 beyond the limit
    assert late is not None and (late.working_days, late.calendar_days) == (2, 2)
    notice = StepClock("public_notice", "natural_days", 10, date(2026, 8, 3), due=date(2026, 8, 13))
    assert lateness(notice, date(2026, 9, 7), CALENDAR) is None  # a 公示 period is nobody's deadline


def _entry(day: str, action: str, to_state: str, **data: Any) -> Entry:
    moment = datetime.combine(date.fromisoformat(day), time(23, 30), tzinfo=SHANGHAI).astimezone(UTC)
    return Entry(moment, "someone", action, to_state, {"kind": action, **data})


def _clock(due: str | None, paused_on: str | None = None) -> dict[str, Any]:
    clock = StepClock("review", "working_days", 20, date(2026, 3, 4), due=date.fromisoformat(due) if due else None,
                      paused_on=date.fromisoformat(paused_on) if paused_on else None)  # fmt: skip
    return clock.to_json()


def test_a_late_rejection_counts_on_its_shanghai_day() -> None:
    entries = [
        _entry("2026-03-04", "accept", "review", clock={"before": None, "after": _clock("2026-04-01")}),
        _entry("2026-03-31", "request_supplement", "review_supplement",
               clock={"before": _clock("2026-04-01"), "after": _clock(None, "2026-03-31")}),
        _entry("2026-04-03", "supplement", "review", clock={"before": _clock(None, "2026-03-31"),
                                                          "after": _clock("2026-04-07")}),
        _entry("2026-04-30", "reject", "rejected", outcome="rejected",
               clock={"before": _clock("2026-04-07"), "after": None}),
    ]  # fmt: skip
    record = ApplicationRecord(1, "plan", "linhe", frozenset({"rejected"}), entries)
    figures = monthly_figures(record, APRIL, date(2026, 5, 6), CALENDAR)
    assert (figures.rejected, figures.decided_late, figures.supplements, figures.accepted) == (1, 1, 0, 0)
    # 23:30 in Shanghai on 04-30 is 15:30 UTC: April, and 03-31's notice is March's
    assert figures.gross_working_days == [40] and figures.net_working_days == [37]  # 04-01, 04-02, 04-03 paused
    assert (figures.open_at_month_end, figures.overdue_at_month_end) == (0, 0)  # final at month end
    march = monthly_figures(record, parse_month("2026-03"), date(2026, 5, 6), CALENDAR)
    assert (march.supplements, march.accepted, march.open_at_month_end) == (1, 1, 0)  # no submit entry: not received
