"""Statutory time limits over the API, with the injected clock: nothing sleeps."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import col, select

from api import cli
from api.db.models import OutboxEvent
from api.services import scheduler
from api.settings import get_settings
from engine.clock import FixedClock
from engine.working_days import SHANGHAI
from tests.conftest import SECRET
from tests.factories import Api, audit, context_of, implementation_plan_data, unit_plan_data


def at(clock: FixedClock, day: str, hour: int = 9) -> None:
    """Move the clock forward to ``hour`` o'clock of ``day`` in Shanghai."""
    target = datetime.combine(date.fromisoformat(day), time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    assert target >= clock.now(), "the clock only moves forward"
    clock.advance(target - clock.now())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 2, 13, 1, 0, tzinfo=UTC))  # 2026-02-13 09:00 Shanghai


def _submitted(api: Api, clock: FixedClock, published: str, submitted: str, **data: Any) -> dict[str, Any]:
    at(clock, published)
    application = api.created("owner", "implementation_plan", implementation_plan_data(**data))
    application = api.step("owner", application, "publish_notice")
    at(clock, submitted)
    return api.step("owner", application, "submit")


def test_notice_period_then_acceptance_window(api: Api, clock: FixedClock) -> None:
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    application = api.step("owner", application, "publish_notice")
    assert application["clock"]["unit"] == "natural_days" and application["clock"]["due"] == "2026-02-23"
    at(clock, "2026-02-20")
    early = api.fire("owner", application, "submit")
    assert early.status_code == 422 and "2026-02-23" in early.json()["detail"]
    assert api.action("owner", application, "submit")["allowed"] is False
    at(clock, "2026-03-02")
    scheduler.run_due_timers(context_of(api))  # the 公示 ran its course: a minimum, not a missed deadline
    waited = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert waited["overdue"] is False
    assert [e["action"] for e in audit(api, application)] == ["create", "publish_notice"]
    application = api.step("owner", application, "submit")
    assert application["clock"]["due"] == "2026-03-09" and application["clock"]["limit"] == 5
    assert application["deadline"] == "2026-03-09T16:00:00Z"  # 24:00 in Shanghai


def test_s04_supplements_pause_the_review_clock(api: Api, clock: FixedClock) -> None:
    application = _submitted(api, clock, "2026-02-13", "2026-03-02")
    at(clock, "2026-03-04")
    application = api.step("dongcheng.zhujian", application, "accept")
    assert application["clock"]["due"] == "2026-04-01"
    at(clock, "2026-03-10")
    application = api.step("dongcheng.zhujian", application, "request_supplement",
                           data={"items": ["运营方案缺收益测算", "资金安排缺银行函"]})  # fmt: skip
    assert application["clock"]["paused"] and application["clock"]["used"] == 4 and application["deadline"] is None
    assert application["clock"]["pause_reason"] == "审查中补正"
    at(clock, "2026-03-17")
    application = api.step("owner", application, "supplement")
    assert application["clock"]["due"] == "2026-04-09" and not application["clock"]["paused"]
    at(clock, "2026-03-24")
    second = {"items": ["银行函未盖章"]}
    refused = api.fire("dongcheng.zhujian", application, "request_supplement", data=second)
    assert refused.status_code == 422 and refused.json()["context"]["field"] == "repeat_reason"
    assert next(f for f in api.action("dongcheng.zhujian", application, "request_supplement")["fields"]
                if f["name"] == "repeat_reason")["required"] is True  # fmt: skip
    reason = "新提交的银行函未盖章"
    application = api.step("dongcheng.zhujian", application, "request_supplement",
                           data={**second, "repeat_reason": reason})  # fmt: skip
    assert application["clock"]["used"] == 9
    at(clock, "2026-03-31")
    application = api.step("owner", application, "supplement")
    assert application["clock"]["due"] == "2026-04-16"
    at(clock, "2026-04-08")
    application = api.step("dongcheng.zhujian", application, "pass_review", data={"review_opinion": "同意"})
    assert application["clock"]["state"] == "local_gov_approval" and application["clock"]["due"] == "2026-05-09"
    audit = api.get("owner", f"/api/v1/applications/{application['id']}/audit").json()
    pause_entry = next(e for e in audit if e["action"] == "request_supplement")
    notices = [e["data"]["notice"] for e in audit if e["action"] == "request_supplement"]
    assert [(n["number"], len(n["items"]), n["reason"]) for n in notices] == [(1, 2, None), (2, 1, reason)]
    assert pause_entry["data"]["clock"]["before"]["due"] == "2026-04-01"
    assert pause_entry["data"]["clock"]["after"]["paused_on"] == "2026-03-10"


def test_s17_national_day_working_days_used_and_left(api: Api, clock: FixedClock) -> None:
    application = _submitted(api, clock, "2026-09-01", "2026-09-11")
    at(clock, "2026-09-18")
    application = api.step("dongcheng.zhujian", application, "accept")
    assert application["clock"]["due"] == "2026-10-22"
    at(clock, "2026-10-09", hour=23)
    current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert (current["clock"]["used"], current["clock"]["remaining"]) == (10, 10)


def test_expert_review_pause_and_resume(api: Api, clock: FixedClock) -> None:
    application = _submitted(api, clock, "2026-02-13", "2026-03-02")
    application = api.step("dongcheng.zhujian", application, "accept")
    at(clock, "2026-03-10")
    application = api.step("dongcheng.zhujian", application, "pause", comment="专家评审，预计 10 日")
    assert application["state"] == "local_review" and application["clock"]["paused"]
    assert application["clock"]["pause_reason"] == "专家评审，预计 10 日"
    again = api.fire("dongcheng.zhujian", application, "pause", comment="再次暂停")
    assert again.status_code == 422 and again.json()["code"] == "guard_failed"
    at(clock, "2026-03-20")
    application = api.step("dongcheng.zhujian", application, "resume")
    assert not application["clock"]["paused"] and application["clock"]["remaining"] == 14  # 6 used by 03-10


def test_s18_deemed_acceptance_and_overdue_fire_once(api: Api, clock: FixedClock) -> None:
    application = _submitted(api, clock, "2026-04-15", "2026-04-30")
    assert application["clock"]["due"] == "2026-05-11"
    context = context_of(api)
    at(clock, "2026-05-06", hour=23)
    assert scheduler.run_due_timers(context) == 0
    at(clock, "2026-05-07", hour=0)
    assert scheduler.run_due_timers(context) == 1  # the reminder: 05-08, 05-09 (make-up Saturday), 05-11 left
    at(clock, "2026-05-11", hour=23)
    assert scheduler.run_due_timers(context) == 0  # due at 24:00, not before
    at(clock, "2026-05-12", hour=0)
    assert scheduler.run_due_timers(context) == 1
    assert scheduler.run_due_timers(context) == 0
    current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert current["state"] == "local_review" and current["clock"]["due"] == "2026-06-01"
    assert current["overdue"] is False  # the new step has a fresh clock
    audit = api.get("owner", f"/api/v1/applications/{application['id']}/audit").json()
    assert [(e["action"], e["actor"]) for e in audit[-3:]] == [
        ("overdue", "system"), ("escalation", "system"), ("deem_accept", "system")
    ]  # fmt: skip
    assert audit[-1]["data"]["basis"] == "N: 行政许可法 §32"
    with context.db.read() as session:  # the webhook events, in order, with the audit entry each one carries
        query = select(OutboxEvent).where(OutboxEvent.application_id == application["id"]).order_by(col(OutboxEvent.id))
        events = [(event.type, event.audit_seq) for event in session.exec(query)][-3:]
    assert events == [
        ("application.reminder", events[0][1]),
        ("application.overdue", audit[-3]["seq"]),
        ("application.transitioned", audit[-1]["seq"]),
    ]


def test_overdue_review_heads_the_inbox_and_the_overdue_filter(api: Api, clock: FixedClock) -> None:
    late = _submitted(api, clock, "2026-02-13", "2026-03-02")
    late = api.step("dongcheng.zhujian", late, "accept")  # due 2026-03-30
    at(clock, "2026-03-10")
    fresh = _submitted(api, clock, "2026-03-10", "2026-03-20")
    fresh = api.step("dongcheng.zhujian", fresh, "accept")
    at(clock, "2026-04-02")
    assert scheduler.run_due_timers(context_of(api)) == 1  # `fresh` still has its acceptance long done
    inbox = api.get("dongcheng.zhujian", "/api/v1/applications", params={"actionable": "true"}).json()["items"]
    assert [item["id"] for item in inbox][:2] == [late["id"], fresh["id"]]
    assert inbox[0]["overdue"] is True
    assert (inbox[0]["clock"]["overdue"], inbox[1]["clock"]["overdue"]) == (True, False)  # the clock says so too
    overdue = api.get("city.zhuanban", "/api/v1/applications", params={"overdue": "true"}).json()["items"]
    assert [item["id"] for item in overdue] == [late["id"]]


def test_two_workers_fire_each_timer_once_and_a_killed_worker_loses_nothing(
    api: Api, clock: FixedClock, database_url: str
) -> None:
    drafts = [api.created("owner", "implementation_plan", implementation_plan_data()) for _ in range(4)]
    published = [api.step("owner", draft, "publish_notice") for draft in drafts]
    at(clock, "2026-03-02")
    applications = [api.step("owner", application, "submit") for application in published]
    context = context_of(api)
    # a worker killed after claiming a timer: its transaction never committed
    engine = create_engine(database_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("UPDATE timer SET fired_at = created_at WHERE fired_at IS NULL"))
        transaction.rollback()
    engine.dispose()
    at(clock, "2026-03-20")
    barrier, fired = threading.Barrier(2), []

    def worker() -> None:
        barrier.wait()
        fired.append(scheduler.run_due_timers(context))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 4
    for application in applications:
        audit = api.get("owner", f"/api/v1/applications/{application['id']}/audit").json()
        assert [e["action"] for e in audit].count("overdue") == 1
        assert [e["action"] for e in audit].count("deem_accept") == 1
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True


def test_calendar_import_makes_next_year_known(api: Api, clock: FixedClock) -> None:
    at(clock, "2026-12-10")
    application = _submitted(api, clock, "2026-12-10", "2026-12-28")
    assert application["clock"]["provisional"] is True  # 5 working days reach into 2027
    notice = {"source": "2027 年节假日安排（测试）", "holidays": ["2027-01-01"], "workdays": ["2027-01-02"]}
    refused = api.client.put("/api/v1/calendar/2027", json=notice, headers=api.headers("owner"))
    assert refused.status_code == 403
    bad = api.client.put("/api/v1/calendar/2027", json={"holidays": ["2027-13-01"]}, headers=api.headers("admin"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_data"
    response = api.client.put("/api/v1/calendar/2027", json=notice, headers=api.headers("admin"))
    assert response.status_code == 200 and response.json()["holidays"] == 1
    described = api.get("owner", "/api/v1/calendar/2027").json()
    assert described["entered"] and described["weekend_workdays"] == ["2027-01-02"]
    assert "2027-01-01" in described["weekday_holidays"]
    application = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert application["clock"]["provisional"] is False  # recalculated: its version moved
    at(clock, "2026-12-29")
    accepted = api.step("dongcheng.zhujian", application, "accept")
    assert accepted["clock"]["provisional"] is False
    assert accepted["clock"]["due"] == "2027-01-26"  # 12/30, 12/31, 1/2 worked, 1/4 ... (1/1 off)
    assert timedelta(0) < timedelta(days=1)


def _department_head(api: Api, username: str, organisation_code: str) -> None:
    """The demo has no 行政机关负责人 account: add one to a department, as an admin would."""
    from sqlmodel import select

    from api.db.models import Organisation, User
    from api.services.auth import hash_password

    context = context_of(api)
    with context.db.write() as session:
        organisation = session.exec(select(Organisation).where(Organisation.code == organisation_code)).one()
        assert organisation.id is not None
        head = User(username=username, display_name="负责人", password_hash=hash_password("demo"),
                    organisation_id=organisation.id, roles=["dept_head"], created_at=context.clock.now())  # fmt: skip
        session.add(head)


def test_s16_extension_once_by_the_head_before_the_deadline(api: Api, clock: FixedClock) -> None:
    _department_head(api, "dongcheng.head", "dongcheng_zhujian")
    application = _submitted(api, clock, "2026-07-20", "2026-07-31")
    at(clock, "2026-08-03")
    application = api.step("dongcheng.zhujian", application, "accept")
    assert application["clock"]["due"] == "2026-08-31"
    at(clock, "2026-08-28")
    by_office = api.fire("dongcheng.zhujian", application, "extend_deadline", comment="专家论证")
    assert by_office.status_code == 403
    application = api.step("dongcheng.head", application, "extend_deadline", comment="案情复杂，需专家论证")
    assert application["clock"]["due"] == "2026-09-14" and application["clock"]["limit"] == 30
    assert application["clock"]["extended"] is True
    again = api.fire("dongcheng.head", application, "extend_deadline", comment="再延")
    assert again.status_code == 422 and "已延长过一次" in again.json()["detail"]
    at(clock, "2026-09-01", hour=0)
    assert scheduler.run_due_timers(context_of(api)) == 0  # the old 08-31 timer is stale: no overdue
    assert api.get("owner", f"/api/v1/applications/{application['id']}").json()["overdue"] is False


def test_whole_process_limit_is_tracked_not_blocking(api: Api, clock: FixedClock) -> None:
    at(clock, "2026-06-01")
    data = {"district": "dongcheng", "implementation_plan_id": "P-1", "changes_land": False,
            "existing_land_docs": ["LC-1"], "changes_structure": False, "low_risk": False}  # fmt: skip
    application = api.created("owner", "project_approval", data)
    application = api.step("owner", application, "submit")
    assert application["process"] is None  # starts at 受理
    application = api.step("city.zhujian", application, "accept")
    assert application["process"]["limit"] == 120 and application["process"]["used"] == 0
    at(clock, "2026-06-09")
    application = api.step("city.zrzy", application, "request_supplement", data={"items": ["规划图纸"]})
    assert application["process"]["paused"] and application["process"]["used"] == 6  # 06-02 .. 06-09
    at(clock, "2026-06-16")
    application = api.step("owner", application, "supplement")
    at(clock, "2026-06-17")
    current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert current["process"]["used"] == 7 and current["process"]["remaining"] == 113  # 06-10 .. 06-16 not counted


def _county_plans_submitted(api: Api, clock: FixedClock, count: int) -> list[dict[str, Any]]:
    at(clock, "2026-11-02")
    data = [unit_plan_data(district="linhe", unit_id=f"LH-U-{n:02}") for n in range(count)]
    plans = [api.step("linhe.zhujian", api.created("linhe.zhujian", "unit_plan", d), "publish_notice") for d in data]
    at(clock, "2026-12-08")
    return [api.step("linhe.zhujian", plan, "submit") for plan in plans]


def _events(api: Api, event_type: str) -> list[dict[str, Any]]:
    from sqlmodel import col, select

    from api.db.models import OutboxEvent

    with context_of(api).db.read() as session:
        query = select(OutboxEvent).where(OutboxEvent.type == event_type).order_by(col(OutboxEvent.id))
        return [event.payload for event in session.exec(query)]


def test_s23_entering_the_year_recalculates_provisional_deadlines(api: Api, clock: FixedClock) -> None:
    plan, waiting = _county_plans_submitted(api, clock, 2)  # `waiting`: acceptance due 12-15, not provisional
    at(clock, "2026-12-10")
    plan = api.step("linhe.zrzy", plan, "accept")
    assert (plan["clock"]["due"], plan["clock"]["provisional"]) == ("2027-01-08", True)  # weekends + 01-01
    assert plan["clock"]["provisional_years"] == [2027]  # why: 2027 has no holiday notice yet
    path = f"/api/v1/applications/{plan['id']}"

    malformed = {"holidays": ["2027-01-01", "2027-01-32"]}
    duplicate = {"holidays": ["2027-01-01", "2027-01-04", "2027-01-04"]}
    for body in (malformed, duplicate):
        refused = api.client.put("/api/v1/calendar/2027", json=body, headers=api.headers("admin"))
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_data", refused.text
    assert api.get("admin", "/api/v1/calendar/2027").json()["entered"] is False  # calendar unchanged
    assert api.get("linhe.zrzy", path).json()["clock"]["due"] == "2027-01-08"

    at(clock, "2026-12-20")
    notice = {"source": "S23 测试用（虚构）", "holidays": ["2027-01-01", "2027-01-04"]}
    response = api.client.put("/api/v1/calendar/2027", json=notice, headers=api.headers("admin"))
    assert response.status_code == 200 and response.json()["recalculated"] == 1
    current = api.get("linhe.zrzy", path).json()
    assert (current["clock"]["due"], current["clock"]["provisional"]) == ("2027-01-11", False)
    assert current["clock"]["provisional_years"] == []
    assert current["deadline"] == "2027-01-11T16:00:00Z" and current["version"] == plan["version"] + 1
    entries = api.get("admin", f"{path}/audit").json()
    assert [e["action"] for e in entries].count("deadline_recalculated") == 1
    last = entries[-1]
    assert (last["action"], last["actor"], last["to_state"]) == ("deadline_recalculated", "admin", "planning_review")
    assert last["data"]["deadline"] == {"before": "2027-01-08", "after": "2027-01-11"} and last["data"]["year"] == 2027
    untouched = api.get("admin", f"/api/v1/applications/{waiting['id']}/audit").json()
    assert "deadline_recalculated" not in [e["action"] for e in untouched]
    events = _events(api, "application.deadline_recalculated")
    assert [e["data"]["application"]["id"] for e in events] == [plan["id"]]
    assert events[0]["data"]["audit"]["seq"] == last["seq"]
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True

    # the timers moved with the deadline: the old reminder (01-05) and deadline (01-08) are stale
    def reminded() -> list[str]:
        events = _events(api, "application.reminder")
        return [e["data"]["reminder"]["due"] for e in events if e["data"]["application"]["id"] == plan["id"]]

    at(clock, "2027-01-05", hour=0)
    scheduler.run_due_timers(context_of(api))
    assert reminded() == []
    at(clock, "2027-01-06", hour=0)  # 01-07, 01-08 and 01-11 left
    scheduler.run_due_timers(context_of(api))
    assert reminded() == ["2027-01-11"]
    at(clock, "2027-01-09", hour=0)
    scheduler.run_due_timers(context_of(api))
    assert api.get("linhe.zrzy", path).json()["overdue"] is False
    at(clock, "2027-01-12", hour=0)
    scheduler.run_due_timers(context_of(api))
    assert api.get("linhe.zrzy", path).json()["overdue"] is True
    again = api.client.put("/api/v1/calendar/2027", json=notice, headers=api.headers("admin"))
    assert again.status_code == 200 and again.json()["recalculated"] == 0  # nothing provisional is left


def test_s23_the_cli_import_recalculates_in_the_same_way(
    api: Api, clock: FixedClock, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [plan] = _county_plans_submitted(api, clock, 1)
    at(clock, "2026-12-10")
    plan = api.step("linhe.zrzy", plan, "accept")
    notice = tmp_path / "calendar-2027.yaml"
    notice.write_text("year: 2027\nsource: S23 测试用（虚构）\nholidays: [2027-01-01, 2027-01-04]\n", encoding="utf-8")
    monkeypatch.setenv("GREENLANE_DATABASE_URL", database_url)
    monkeypatch.setenv("GREENLANE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    try:
        assert cli.main(["calendar", "import", str(notice)]) == 0
    finally:
        get_settings.cache_clear()
    current = api.get("linhe.zrzy", f"/api/v1/applications/{plan['id']}").json()
    assert (current["clock"]["due"], current["clock"]["provisional"]) == ("2027-01-11", False)
    last = api.get("admin", f"/api/v1/applications/{plan['id']}/audit").json()[-1]
    assert (last["action"], last["actor"]) == ("deadline_recalculated", "cli")
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True


def test_entering_the_year_recalculates_a_provisional_whole_process_deadline(api: Api, clock: FixedClock) -> None:
    at(clock, "2026-09-01")
    data = {"district": "dongcheng", "implementation_plan_id": "P-1", "changes_land": False,
            "existing_land_docs": ["LC-1"], "changes_structure": False, "low_risk": False}  # fmt: skip
    application = api.step("owner", api.created("owner", "project_approval", data), "submit")
    application = api.step("city.zhujian", application, "accept")
    assert application["clock"]["provisional"] is False  # the step ends in 2026
    assert (application["process"]["due"], application["process"]["provisional"]) == ("2027-02-23", True)
    notice = {"holidays": ["2027-01-01", "2027-01-04"]}
    response = api.client.put("/api/v1/calendar/2027", json=notice, headers=api.headers("admin"))
    assert response.status_code == 200 and response.json()["recalculated"] == 1
    current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert (current["process"]["due"], current["process"]["provisional"]) == ("2027-02-24", False)
    assert current["clock"] == application["clock"] and current["deadline"] == application["deadline"]
    last = api.get("admin", f"/api/v1/applications/{application['id']}/audit").json()[-1]
    assert last["action"] == "deadline_recalculated" and "deadline" not in last["data"]
    assert last["data"]["process_deadline"] == {"before": "2027-02-23", "after": "2027-02-24"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # row locks: PostgreSQL's behaviour
def test_a_timer_being_fired_by_another_worker_is_skipped_not_waited_for(
    api: Api, clock: FixedClock, database_url: str
) -> None:
    published = api.step(
        "owner", api.created("owner", "implementation_plan", implementation_plan_data()), "publish_notice"
    )
    at(clock, "2026-03-02")
    api.step("owner", published, "submit")
    at(clock, "2026-03-10")  # the acceptance reminder and deadline are due, nothing later
    engine = create_engine(database_url)
    unfired = f"SELECT id FROM timer WHERE fired_at IS NULL AND due_at <= '{clock.now().isoformat()}' ORDER BY id"
    with engine.connect() as other_worker:
        transaction = other_worker.begin()
        busy = other_worker.execute(text(f"{unfired} LIMIT 1 FOR UPDATE")).scalar_one()  # mid-way through firing it
        finished = threading.Event()

        def worker() -> None:
            scheduler.run_due_timers(context_of(api))
            finished.set()

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        thread.join(timeout=120)  # a hang guard, not a speed check: without SKIP LOCKED it waits forever
        assert finished.is_set(), "the worker waited for the other worker's lock"
        with engine.connect() as look:
            assert [row[0] for row in look.execute(text(unfired))] == [busy]
        transaction.rollback()  # the other worker died: the timer is still due
    assert scheduler.run_due_timers(context_of(api)) >= 0
    with engine.connect() as look:
        assert list(look.execute(text(unfired))) == []
    engine.dispose()
