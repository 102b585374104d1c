from __future__ import annotations

from datetime import UTC, date, datetime

from engine.working_days import (
    WorkCalendar,
    add_natural_days,
    add_working_days,
    end_of_day,
    shanghai_day,
    working_days_between,
)

CALENDAR = WorkCalendar()


def test_twenty_working_days_across_mid_autumn_and_national_day() -> None:
    # 受理 2026-09-24 (not counted); 9/25 and 10/1-10/7 off, 10/10 a make-up Saturday
    due = add_working_days(date(2026, 9, 24), 20, CALENDAR)
    assert due.day == date(2026, 10, 29)
    assert not due.provisional


def test_ten_working_days_across_spring_festival_with_make_up_saturdays() -> None:
    # 2/14 and 2/28 are worked Saturdays, 2/15-2/23 off
    assert add_working_days(date(2026, 2, 10), 10, CALENDAR).day == date(2026, 3, 2)


def test_make_up_days_count_and_a_monday_to_friday_count_would_be_wrong() -> None:
    assert add_working_days(date(2026, 9, 18), 20, CALENDAR).day == date(2026, 10, 22)  # S17
    assert add_working_days(date(2026, 9, 28), 5, CALENDAR).day == date(2026, 10, 10)  # a Saturday make-up day
    assert add_working_days(date(2026, 4, 8), 20, CALENDAR).day == date(2026, 5, 9)  # S04


def test_working_days_between_counts_after_the_start_up_to_and_including_the_end() -> None:
    assert working_days_between(date(2026, 3, 4), date(2026, 3, 10), CALENDAR) == 4
    assert working_days_between(date(2026, 9, 18), date(2026, 10, 9), CALENDAR) == 10
    assert working_days_between(date(2026, 3, 10), date(2026, 3, 10), CALENDAR) == 0


def test_a_year_without_a_notice_is_provisional_never_a_silent_guess() -> None:
    due = add_working_days(date(2026, 12, 28), 10, CALENDAR)
    assert due.provisional
    assert not CALENDAR.is_known(date(2027, 1, 4))
    assert CALENDAR.is_known(date(2026, 12, 31))


def test_admin_overrides_win_and_a_declared_year_is_known() -> None:
    calendar = WorkCalendar(
        overrides={date(2027, 1, 1): False, date(2027, 1, 2): True}, declared_years=frozenset({2027})
    )
    assert not calendar.is_workday(date(2027, 1, 1))  # a Friday, declared a holiday
    assert calendar.is_workday(date(2027, 1, 2))  # a Saturday, declared worked
    assert calendar.is_workday(date(2027, 1, 4))  # a Monday not listed
    due = add_working_days(date(2026, 12, 30), 3, calendar)
    assert due == add_working_days(date(2026, 12, 30), 3, calendar)
    assert due.day == date(2027, 1, 4)  # 12/31, 1/2 (worked Saturday), 1/4
    assert not due.provisional


def test_natural_days_for_a_thirty_day_notice() -> None:
    assert add_natural_days(date(2026, 3, 2), 30).day == date(2026, 4, 1)


def test_days_are_shanghai_days_and_deadlines_end_at_shanghai_midnight() -> None:
    assert shanghai_day(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == date(2026, 10, 1)
    assert end_of_day(date(2026, 10, 29)) == datetime(2026, 10, 29, 16, 0, tzinfo=UTC)


def test_a_year_without_a_notice_keeps_the_fixed_date_holidays() -> None:
    # S23: 2027 has no notice yet: weekends and 2027-01-01 (元旦) are off, nothing else is known
    assert not CALENDAR.is_workday(date(2027, 1, 1))
    assert CALENDAR.is_workday(date(2027, 5, 3))  # 5/1-2 fall on a weekend: no guessed day in lieu
    assert [CALENDAR.is_workday(date(2027, 10, d)) for d in (1, 4)] == [False, True]
    due = add_working_days(date(2026, 12, 10), 20, CALENDAR)
    assert due.day == date(2027, 1, 8) and due.provisional


def test_an_entered_year_trusts_only_its_notice() -> None:
    calendar = WorkCalendar(overrides={date(2027, 1, 4): False}, declared_years=frozenset({2027}))
    assert calendar.is_workday(date(2027, 1, 1))  # not listed in this (fictional) notice
    assert not calendar.is_workday(date(2027, 1, 4))
    assert calendar.is_span_known(date(2026, 12, 10), date(2027, 1, 11))
    assert not CALENDAR.is_span_known(date(2026, 12, 10), date(2027, 1, 11))
    assert CALENDAR.is_span_known(date(2026, 12, 10), date(2026, 12, 31))
