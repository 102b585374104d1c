from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from engine.deadlines import (
    StepClock,
    extend,
    is_due_soon,
    is_overdue,
    next_clock,
    next_process_clock,
    pause,
    recalculate,
    reminder_day,
    resume,
    start,
    supplement_reminder_day,
)
from engine.loading import load_spec
from engine.spec import WorkflowSpec
from engine.working_days import WorkCalendar, add_working_days

CALENDAR = WorkCalendar()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spec() -> WorkflowSpec:
    path = ROOT / "workflows" / "implementation_plan.yaml"
    return load_spec(path.read_text(encoding="utf-8"), str(path))


def _transition(spec: WorkflowSpec, trigger: str, source: str) -> object:
    return next(t for t in spec.transitions if t.id == trigger and source in t.source)


def test_a_seven_working_day_pause_moves_the_deadline_by_exactly_seven_working_days(spec: WorkflowSpec) -> None:
    clock = start(spec.states_by_id["local_review"], date(2026, 3, 4), CALENDAR)
    assert clock is not None and clock.due == date(2026, 4, 1)
    paused = pause(clock, date(2026, 3, 10), CALENDAR, "补正")
    assert paused.used_before == 4 and paused.due is None and paused.pause_reason == "补正"
    resumed = resume(paused, add_working_days(date(2026, 3, 10), 7, CALENDAR).day, CALENDAR)
    assert resumed.due == add_working_days(date(2026, 4, 1), 7, CALENDAR).day


def test_supplement_states_pause_and_the_return_resumes_with_the_days_left(spec: WorkflowSpec) -> None:
    """S04: two review-stage supplements, 4 and then 5 working days used before each."""
    clock = start(spec.states_by_id["local_review"], date(2026, 3, 4), CALENDAR)
    steps = [
        ("request_supplement", "local_review", "local_review_supplement", date(2026, 3, 10)),
        ("supplement", "local_review_supplement", "local_review", date(2026, 3, 17)),
        ("request_supplement", "local_review", "local_review_supplement", date(2026, 3, 24)),
        ("supplement", "local_review_supplement", "local_review", date(2026, 3, 31)),
    ]
    dues = []
    for trigger, source, target, today in steps:
        transition = _transition(spec, trigger, source)
        clock = next_clock(spec, clock, transition, source, target, today, CALENDAR)  # type: ignore[arg-type]
        assert clock is not None
        dues.append((clock.due, clock.used_before))
    assert dues == [(None, 4), (date(2026, 4, 9), 4), (None, 9), (date(2026, 4, 16), 9)]


def test_entering_a_new_step_starts_a_fresh_clock_and_final_states_have_none(spec: WorkflowSpec) -> None:
    clock = start(spec.states_by_id["local_review"], date(2026, 3, 4), CALENDAR)
    approve = _transition(spec, "pass_review", "local_review")
    fresh = next_clock(spec, clock, approve, "local_review", "local_gov_approval", date(2026, 4, 8), CALENDAR)  # type: ignore[arg-type]
    assert fresh is not None and fresh.state == "local_gov_approval" and fresh.due == date(2026, 5, 9)
    assert clock is not None and fresh.generation == clock.generation + 1
    withdraw = _transition(spec, "withdraw", "local_gov_approval")
    assert next_clock(spec, fresh, withdraw, "local_gov_approval", "withdrawn", date(2026, 4, 9), CALENDAR) is None  # type: ignore[arg-type]


def test_deemed_acceptance_counts_the_review_from_the_day_of_receipt(spec: WorkflowSpec) -> None:
    """S18: received 04-30, deemed accepted on 05-12: the review's 20 working days run from 04-30."""
    intake = start(spec.states_by_id["submitted"], date(2026, 4, 30), CALENDAR)
    assert intake is not None and intake.due == date(2026, 5, 11)
    deem = next(t for t in spec.transitions if t.id == "deem_accept" and t.target == "local_review")
    review = next_clock(spec, intake, deem, "submitted", "local_review", date(2026, 5, 12), CALENDAR)
    assert review is not None and review.started_on == date(2026, 4, 30) and review.due == date(2026, 6, 1)


def test_overdue_from_the_day_after_the_due_day_and_an_extension_moves_it() -> None:
    clock = StepClock("local_review", "working_days", 20, date(2026, 8, 3), due=date(2026, 8, 31))
    assert not is_overdue(clock, date(2026, 8, 31))
    assert is_overdue(clock, date(2026, 9, 1))
    extended = extend(clock, 10, date(2026, 8, 28), CALENDAR)
    assert extended.due == date(2026, 9, 14) and extended.limit == 30


def test_clock_round_trips_through_json() -> None:
    clock = StepClock("x", "natural_days", 30, date(2026, 3, 2), 3, date(2026, 3, 5), "专家评审", None, True, 4)
    assert StepClock.from_json(clock.to_json()) == clock
    assert StepClock.from_json(None) is None


def test_an_expert_review_pause_outlasts_a_supplement_round_trip(spec: WorkflowSpec) -> None:
    clock = start(spec.states_by_id["local_review"], date(2026, 3, 4), CALENDAR)
    steps = [
        ("pause", "local_review", "local_review", date(2026, 3, 5)),
        ("request_supplement", "local_review", "local_review_supplement", date(2026, 3, 6)),
        ("supplement", "local_review_supplement", "local_review", date(2026, 3, 9)),
    ]
    for trigger, source, target, today in steps:
        clock = next_clock(spec, clock, _transition(spec, trigger, source), source, target, today, CALENDAR, "专家评审")  # type: ignore[arg-type]
    assert clock is not None and clock.is_paused and clock.held  # only an explicit resume ends it
    resume_transition = _transition(spec, "resume", "local_review")
    resumed = next_clock(spec, clock, resume_transition, "local_review", "local_review", date(2026, 3, 20), CALENDAR)  # type: ignore[arg-type]
    assert resumed is not None and not resumed.is_paused and not resumed.held and resumed.used_before == 1


ENTERED_2027 = WorkCalendar(
    overrides={date(2027, 1, 1): False, date(2027, 1, 4): False}, declared_years=frozenset({2027})
)  # S23's fixture: fictional, 2027-01-04 a holiday


def test_s23_a_provisional_deadline_is_recalculated_when_the_year_is_entered() -> None:
    clock = StepClock("planning_review", "working_days", 20, date(2026, 12, 10), due=date(2027, 1, 8),
                      provisional=True, generation=3)  # fmt: skip
    again = recalculate(clock, CALENDAR, ENTERED_2027)
    assert (again.due, again.provisional, again.generation) == (date(2027, 1, 11), False, 4)
    assert recalculate(again, ENTERED_2027, ENTERED_2027) == again  # nothing moved: same timers


def test_an_extended_clock_is_recalculated_with_its_extension() -> None:
    clock = StepClock("planning_review", "working_days", 20, date(2026, 12, 10), due=date(2027, 1, 8),
                      provisional=True)  # fmt: skip
    extended = extend(clock, 10, date(2027, 1, 4), CALENDAR)
    assert extended.due == date(2027, 1, 22)
    assert recalculate(extended, CALENDAR, ENTERED_2027).due == date(2027, 1, 25)


def test_a_paused_clock_recounts_the_days_used_since_it_started() -> None:
    clock = StepClock("planning_review", "working_days", 20, date(2026, 12, 28), due=date(2027, 1, 26),
                      provisional=True)  # fmt: skip
    paused = pause(clock, date(2027, 1, 6), CALENDAR, "补正")
    assert paused.used_before == 6 and paused.provisional  # 12/29-31, 1/4-6 (1/1 off)
    recounted = recalculate(paused, CALENDAR, ENTERED_2027)
    assert (recounted.used_before, recounted.provisional, recounted.due) == (5, False, None)  # 1/4 off too
    resumed = resume(recounted, date(2027, 1, 11), ENTERED_2027)
    assert resumed.due == add_working_days(date(2027, 1, 11), 15, ENTERED_2027).day and not resumed.provisional


def test_the_reminder_is_due_three_working_days_before_the_deadline() -> None:
    clock = StepClock("planning_review", "working_days", 20, date(2026, 8, 3), due=date(2026, 8, 31))  # S16
    assert reminder_day(clock, CALENDAR) == date(2026, 8, 26)  # 8/27, 8/28 and 8/31 left
    assert not is_due_soon(clock, date(2026, 8, 25), CALENDAR)
    assert is_due_soon(clock, date(2026, 8, 26), CALENDAR) and is_due_soon(clock, date(2026, 8, 31), CALENDAR)
    assert not is_due_soon(clock, date(2026, 9, 1), CALENDAR)  # overdue then, not due soon
    # after National Day the make-up Saturday counts as one of the three
    holiday = StepClock("x", "working_days", 20, date(2026, 9, 11), due=date(2026, 10, 13))
    assert reminder_day(holiday, CALENDAR) == date(2026, 10, 9)  # 10/10 (Saturday, worked), 10/12, 10/13 left


def test_no_reminder_for_a_notice_period_or_a_paused_clock_and_at_once_for_a_short_one() -> None:
    notice = StepClock("public_notice", "natural_days", 30, date(2026, 3, 2), due=date(2026, 4, 1))
    assert reminder_day(notice, CALENDAR) is None and not is_due_soon(notice, date(2026, 3, 31), CALENDAR)
    running = StepClock("x", "working_days", 20, date(2026, 8, 3), due=date(2026, 8, 31))
    assert reminder_day(pause(running, date(2026, 8, 26), CALENDAR, "补正"), CALENDAR) is None
    short = StepClock("x", "working_days", 2, date(2026, 3, 2), due=date(2026, 3, 4))
    assert reminder_day(short, CALENDAR) == date(2026, 3, 2) and is_due_soon(short, date(2026, 3, 2), CALENDAR)


def test_only_an_acceptance_stage_supplement_notice_gets_the_twenty_day_reminder(spec: WorkflowSpec) -> None:
    notice = _transition(spec, "request_supplement", "submitted")
    day = supplement_reminder_day(spec, notice, "supplement_pending", date(2026, 8, 3), CALENDAR)  # type: ignore[arg-type]
    assert day == date(2026, 8, 31)  # 20 working days after the notice
    review = _transition(spec, "request_supplement", "local_review")
    assert supplement_reminder_day(spec, review, "local_review_supplement", date(2026, 8, 3), CALENDAR) is None  # type: ignore[arg-type]
    accept = _transition(spec, "accept", "submitted")
    assert supplement_reminder_day(spec, accept, "local_review", date(2026, 8, 3), CALENDAR) is None  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def green_channel() -> WorkflowSpec:
    path = ROOT / "workflows" / "project_approval.yaml"
    return load_spec(path.read_text(encoding="utf-8"), str(path))


def test_the_checkers_date_replaces_the_default_rectification_limit(green_channel: WorkflowSpec) -> None:
    order = _transition(green_channel, "order_rectification", "post_check")
    facts = {"rectify_by": "2026-06-30"}
    clock = next_clock(green_channel, None, order, "post_check", "rectifying", date(2026, 6, 10), CALENDAR, "", facts)  # type: ignore[arg-type]
    assert clock is not None and (clock.due, clock.limit) == (date(2026, 6, 30), 13)  # 06-19 is a holiday


def test_the_simple_low_risk_profile_shortens_joint_review_and_the_whole_process(green_channel: WorkflowSpec) -> None:
    accept = _transition(green_channel, "accept", "submitted")
    for low_risk, limit, due in ((True, 2, date(2026, 7, 6)), (False, 45, date(2026, 9, 3))):
        facts = {"low_risk": low_risk}
        clock = next_clock(
            green_channel, None, accept, "submitted", "joint_review", date(2026, 7, 2), CALENDAR, "", facts
        )  # type: ignore[arg-type]
        assert clock is not None and (clock.limit, clock.due) == (limit, due)
        process = next_process_clock(green_channel, None, accept, "joint_review", date(2026, 7, 2), CALENDAR, facts)  # type: ignore[arg-type]
        assert process is not None and process.limit == (10 if low_risk else 120)
