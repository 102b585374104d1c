"""Reminders at 3 working days before a step's deadline (PROCESS.md §4.2, S16), with the injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import col, select

from api.db.database import Database
from api.db.models import OutboxEvent
from api.services import scheduler
from api.services.context import Context
from engine.clock import FixedClock
from engine.working_days import SHANGHAI
from tests.api.test_deadlines import _department_head
from tests.conftest import settings_for
from tests.factories import Api, audit, context_of, implementation_plan_data


def at(clock: FixedClock, day: str, hour: int = 9) -> None:
    target = datetime.combine(date.fromisoformat(day), time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    assert target >= clock.now(), "the clock only moves forward"
    clock.advance(target - clock.now())


def _accepted(api: Api, clock: FixedClock) -> dict[str, Any]:
    """S16's step: accepted 08-03, `local_review` due 08-31."""
    at(clock, "2026-07-20")
    application = api.step("owner", api.created("owner", "implementation_plan", implementation_plan_data()),
                           "publish_notice")  # fmt: skip
    at(clock, "2026-07-31")
    application = api.step("owner", application, "submit")
    at(clock, "2026-08-03")
    application = api.step("dongcheng.zhujian", application, "accept")
    assert application["clock"]["due"] == "2026-08-31"
    return application


def _reminders(api: Api) -> list[dict[str, Any]]:
    with context_of(api).db.read() as session:
        query = select(OutboxEvent).where(OutboxEvent.type == "application.reminder").order_by(col(OutboxEvent.id))
        return [event.payload["data"] for event in session.exec(query)]


def _view(api: Api, application: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get("dongcheng.zhujian", f"/api/v1/applications/{application['id']}").json())


def _inbox_page(api: Api, username: str) -> str:
    token = api.headers(username)["Authorization"].removeprefix("Bearer ")
    response = api.client.get("/inbox", headers={"Cookie": f"greenlane_session={token}"})
    assert response.status_code == 200, response.text
    return response.text


def test_s16_reminder_three_working_days_before_fires_once_and_survives_a_restart(
    api: Api, clock: FixedClock, database_url: str
) -> None:
    application = _accepted(api, clock)
    at(clock, "2026-08-25", hour=23)
    assert scheduler.run_due_timers(context_of(api)) == 0  # the acceptance step's reminder went stale at 受理
    assert _reminders(api) == [] and _view(api, application)["clock"]["due_soon"] is False
    assert "即将到期" not in _inbox_page(api, "dongcheng.zhujian")

    at(clock, "2026-08-26", hour=0)
    restarted = Context(db=Database(database_url), clock=clock, settings=settings_for(database_url))
    try:  # another process, started after the timer was set: timers are rows, not threads
        assert scheduler.run_due_timers(restarted) == 1
    finally:
        restarted.db.dispose()
    assert scheduler.run_due_timers(context_of(api)) == 0  # once
    [reminder] = _reminders(api)
    assert reminder["application"]["id"] == application["id"]
    assert (reminder["reminder"]["state"], reminder["reminder"]["due"]) == ("local_review", "2026-08-31")
    view = _view(api, application)
    assert view["clock"]["due_soon"] is True and view["clock"]["remaining"] == 3 and view["overdue"] is False
    assert view["version"] == application["version"]  # a notification changes nothing
    assert "即将到期" in _inbox_page(api, "dongcheng.zhujian")
    assert "reminder" not in [entry["action"] for entry in audit(api, application)]  # S16: not an audit entry

    at(clock, "2026-09-01", hour=0)
    assert scheduler.run_due_timers(context_of(api)) == 1  # overdue now: the mark changes
    overdue, escalation = audit(api, application)[-2:]
    assert [(e["action"], e["actor"]) for e in (overdue, escalation)] == [
        ("overdue", "system"),
        ("escalation", "system"),
    ]
    assert escalation["data"]["escalated_to"] == [  # the step's head, the district's renewal body, the task force
        {"role": "dept_head", "department": "local_renewal_office"},
        {"role": "local_renewal_office", "district": "dongcheng"},
        {"role": "city_task_force"},
    ]
    at(clock, "2026-09-01")
    page = _inbox_page(api, "dongcheng.zhujian")
    assert "已超期" in page and "即将到期" not in page
    assert _view(api, application)["clock"]["due_soon"] is False


def test_the_reminder_moves_with_a_pause_and_an_extension(api: Api, clock: FixedClock) -> None:
    _department_head(api, "dongcheng.head", "dongcheng_zhujian")
    application = _accepted(api, clock)
    at(clock, "2026-08-20")
    application = api.step("dongcheng.zhujian", application, "request_supplement", data={"items": ["资金证明"]})
    at(clock, "2026-08-26", hour=0)
    assert scheduler.run_due_timers(context_of(api)) == 0  # paused: the 08-26 reminder is stale
    assert _view(api, application)["clock"]["due_soon"] is False
    at(clock, "2026-08-27")
    application = api.step("owner", application, "supplement")
    assert application["clock"]["due"] == "2026-09-07"  # 7 working days were left

    at(clock, "2026-09-01", hour=23)
    assert scheduler.run_due_timers(context_of(api)) == 0
    at(clock, "2026-09-02", hour=0)
    assert scheduler.run_due_timers(context_of(api)) == 1
    assert [r["reminder"]["due"] for r in _reminders(api)] == ["2026-09-07"]

    at(clock, "2026-09-03")
    application = api.step("dongcheng.head", api.get("owner", f"/api/v1/applications/{application['id']}").json(),
                           "extend_deadline", comment="案情复杂")  # fmt: skip
    assert application["clock"]["due"] == "2026-09-20" and application["clock"]["due_soon"] is False
    at(clock, "2026-09-15", hour=23)
    assert scheduler.run_due_timers(context_of(api)) == 0  # the 09-07 deadline went stale with the extension
    at(clock, "2026-09-16", hour=0)  # 09-17, 09-18 and the make-up Sunday 09-20 left
    assert scheduler.run_due_timers(context_of(api)) == 1
    assert [r["reminder"]["due"] for r in _reminders(api)] == ["2026-09-07", "2026-09-20"]


def _supplement_reminders(api: Api) -> list[dict[str, Any]]:
    with context_of(api).db.read() as session:
        query = select(OutboxEvent).where(OutboxEvent.type == "application.supplement_reminder")
        return [event.payload["data"] for event in session.exec(query.order_by(col(OutboxEvent.id)))]


def test_an_unanswered_supplement_notice_is_reminded_after_twenty_working_days_once(
    api: Api, clock: FixedClock
) -> None:
    at(clock, "2026-07-20")
    drafts = [api.created("owner", "implementation_plan", implementation_plan_data()) for _ in range(2)]
    drafts = [api.step("owner", draft, "publish_notice") for draft in drafts]
    at(clock, "2026-07-31")
    silent, answered = [api.step("owner", draft, "submit") for draft in drafts]
    at(clock, "2026-08-03")
    silent, answered = [
        api.step("dongcheng.zhujian", application, "request_supplement", data={"items": ["产权证明"]})
        for application in (silent, answered)
    ]
    at(clock, "2026-08-10")
    answered = api.step("owner", answered, "supplement")  # back to 待受理: its reminder is stale
    files = {"file": ("产权证明.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}  # a declared material: version + 1
    uploaded = api.client.post(f"/api/v1/applications/{silent['id']}/materials", data={"name": "plan_document"},
                               files=files, headers=api.headers("owner"))  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text  # an upload is not an answer to the notice

    at(clock, "2026-08-31", hour=23)
    scheduler.run_due_timers(context_of(api))
    assert _supplement_reminders(api) == []
    at(clock, "2026-09-01", hour=0)  # 20 working days after 08-03 end with 08-31
    scheduler.run_due_timers(context_of(api))
    scheduler.run_due_timers(context_of(api))
    [reminder] = _supplement_reminders(api)
    assert reminder["application"]["id"] == silent["id"]
    assert (reminder["reminder"]["state"], reminder["reminder"]["working_days"]) == ("supplement_pending", 20)
    current = api.get("owner", f"/api/v1/applications/{silent['id']}").json()
    assert (current["state"], current["version"]) == ("supplement_pending", silent["version"] + 1)  # the upload
    assert [e["action"] for e in audit(api, silent)][-2:] == ["request_supplement", "material_uploaded"]
