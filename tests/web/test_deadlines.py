"""Deadlines on the pages, driven by the injected clock: the application page's 办理时限 block and the inbox's
办理期限 column show the step's due day, 暂停计时 with its reason, and 已超期."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.factories import implementation_plan_data
from tests.web.conftest import LiveServer
from tests.web.test_journey import fire

Login = Callable[[str], Page]
Shots = Callable[..., Path]


class Driver:
    """The JSON API as the demo users, with a fresh token per call (the test moves the clock by weeks)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def headers(self, username: str) -> dict[str, str]:
        token = self.client.post("/api/v1/auth/token", data={"username": username, "password": "demo"}).json()
        return {"Authorization": f"Bearer {token['access_token']}"}

    def create(self, title: str) -> dict[str, Any]:
        body = {"workflow": "implementation_plan", "title": title, "data": implementation_plan_data()}
        response = self.client.post("/api/v1/applications", json=body, headers=self.headers("owner"))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def fire(self, username: str, application: dict[str, Any], transition: str, comment: str = "") -> dict[str, Any]:
        path = f"/api/v1/applications/{application['id']}/transitions/{transition}"
        body = {"expected_version": application["version"], "comment": comment}
        response = self.client.post(path, json=body, headers=self.headers(username))
        assert response.status_code == 200, f"{transition}: {response.text}"
        return dict(response.json())


def test_deadline_paused_and_overdue_on_the_page_and_in_the_inbox(
    live_server: LiveServer, login: Login, screenshots: Shots
) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        api = Driver(client)
        titles = ("逾期的实施方案", "待受理的实施方案", "专家评审中的实施方案")
        late, waiting, paused = (api.fire("owner", api.create(title), "publish_notice") for title in titles)
        live_server.clock.advance(timedelta(days=11))  # 2026-03-13, a Friday: the 10-day 公示 has run
        late = api.fire("dongcheng.zhujian", api.fire("owner", late, "submit"), "accept")
        assert late["clock"]["due"] == "2026-04-13"  # 20 working days; 清明 (04-06) is not one
        live_server.clock.advance(timedelta(days=32))  # 2026-04-14: a day past the review's deadline
        waiting = api.fire("owner", waiting, "submit")
        assert waiting["clock"]["due"] == "2026-04-21"  # 待受理: 5 working days
        paused = api.fire("dongcheng.zhujian", api.fire("owner", paused, "submit"), "accept")
        paused = api.fire("dongcheng.zhujian", paused, "pause", comment="组织专家评审，等待专家意见")

    office = login("dongcheng.zhujian")
    rows = office.locator("#inbox-table tbody tr")
    expect(office.locator("#inbox-table thead")).to_contain_text("办理期限")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("逾期的实施方案")  # overdue first, then the nearest deadline
    expect(rows.nth(0)).to_contain_text("已超期")
    expect(rows.nth(0).locator("td.deadline-cell")).to_contain_text("2026-04-13")
    expect(rows.nth(0).locator("td.deadline-cell")).to_contain_text("超过 1 个工作日")
    expect(rows.nth(1)).to_contain_text("待受理的实施方案")
    expect(rows.nth(1).locator("td.deadline-cell")).to_contain_text("2026-04-21")
    expect(rows.nth(1).locator("td.deadline-cell")).to_contain_text("剩余 5 个工作日")
    expect(rows.nth(2)).to_contain_text("专家评审中的实施方案")
    expect(rows.nth(2).locator("td.deadline-cell")).to_contain_text("暂停计时")
    screenshots(office, "20_inbox_deadlines")

    office.click("text=待受理的实施方案")
    block = office.locator("#deadline")
    expect(office.locator("#deadline-due")).to_have_text("2026-04-21（星期二）24:00 前")
    expect(office.locator("#deadline-step")).to_have_text("待受理：法定时限 5 个工作日")
    expect(office.locator("#deadline-days")).to_have_text("已用 0 个工作日，剩余 5 个工作日")
    expect(block.locator(".badge")).to_have_count(0)  # neither late, nor soon, nor paused, nor provisional

    office.goto(f"{live_server.url}/applications/{paused['id']}")
    expect(block.locator("h2")).to_contain_text("暂停计时")
    expect(office.locator("#deadline-paused")).to_contain_text("计时暂停：组织专家评审，等待专家意见")
    expect(office.locator("#deadline-due")).to_contain_text("暂停计时")
    expect(office.locator("#deadline-overdue")).to_have_count(0)
    screenshots(office, "23_application_paused")

    office.goto(f"{live_server.url}/applications/{late['id']}")
    expect(block.locator("h2")).to_contain_text("已超期")
    expect(office.locator("#deadline-due")).to_have_text("2026-04-13（星期一）24:00 前")
    expect(office.locator("#deadline-days")).to_have_text("已用 21 个工作日，已超过 1 个工作日")
    expect(office.locator("#deadline-overdue")).to_be_visible()
    screenshots(office, "21_application_overdue")

    live_server.clock.advance(timedelta(days=5))  # 2026-04-19, a Sunday: two working days left on the waiting one
    office = login("dongcheng.zhujian")  # the session expired with the clock
    office.goto(f"{live_server.url}/applications/{waiting['id']}")
    expect(office.locator("#deadline h2")).to_contain_text("即将到期")
    expect(office.locator("#deadline-days")).to_have_text("已用 3 个工作日，剩余 2 个工作日")


def test_provisional_deadline_and_the_whole_process_clock(
    live_server: LiveServer, login: Login, screenshots: Shots
) -> None:
    """A green-channel project accepted in December: its 45-working-day joint review ends in 2027, a year
    chinese-calendar has no holiday notice for, so the deadline is provisional and the page says why."""
    live_server.clock.advance(timedelta(days=274))  # 2026-12-01, a Tuesday
    data = {"district": "dongcheng", "implementation_plan_id": "P-2026-001", "changes_land": False,
            "existing_land_docs": ["LC-0123"], "changes_structure": False, "low_risk": False,
            "commitment": False}  # fmt: skip
    with httpx.Client(base_url=live_server.url) as client:
        api = Driver(client)
        body = {"workflow": "project_approval", "title": "老旧厂房改造项目", "data": data}
        created = client.post("/api/v1/applications", json=body, headers=api.headers("owner")).json()
        project = api.fire("city.zhujian", api.fire("owner", created, "submit"), "accept")
    assert project["clock"]["provisional_years"] == [2027], project["clock"]
    assert project["process"]["provisional_years"] == [2027], project["process"]

    office = login("city.zhujian")
    office.goto(f"{live_server.url}/applications/{project['id']}")
    expect(office.locator("#deadline h2")).to_contain_text("暂定")
    expect(office.locator("#deadline-due")).to_have_text(f"{_weekday_text(project['clock']['due'])}")
    expect(office.locator("#deadline-provisional")).to_contain_text("2027 年的国务院节假日安排通知尚未发布或尚未录入")
    expect(office.locator("#process-clock")).to_contain_text("自首次受理起不超过 120 个工作日")
    expect(office.locator("#process-clock")).to_contain_text("已用 0 个工作日，剩余 120 个工作日")
    expect(office.locator("#process-clock h3")).to_contain_text("暂定")
    screenshots(office, "22_application_provisional")
    office.goto(f"{live_server.url}/inbox?view=all")  # the joint review's branches are other departments' to do
    cell = office.locator(f"tr[data-application='{project['id']}'] td.deadline-cell")
    expect(cell).to_contain_text(project["clock"]["due"])
    expect(cell).to_contain_text("暂定")


def _weekday_text(day: str) -> str:
    weekday = "一二三四五六日"[date.fromisoformat(day).weekday()]
    return f"{day}（星期{weekday}）24:00 前"


def test_an_extended_deadline_says_so(live_server: LiveServer, login: Login) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        api = Driver(client)
        head = {"username": "dongcheng.head", "display_name": "东城区住建局 负责人", "password": "Dongcheng2026ok",
                "organisation": "dongcheng_zhujian", "roles": ["dept_head"]}  # fmt: skip
        assert client.post("/api/v1/users", json=head, headers=api.headers("admin")).status_code == 201
        plan = api.fire("owner", api.create("延期审查的实施方案"), "publish_notice")
        live_server.clock.advance(timedelta(days=11))  # 2026-03-13
        plan = api.fire("dongcheng.zhujian", api.fire("owner", plan, "submit"), "accept")
        token = client.post("/api/v1/auth/token", data={"username": head["username"], "password": head["password"]})
        path = f"/api/v1/applications/{plan['id']}/transitions/extend_deadline"
        body = {"expected_version": plan["version"], "comment": "需现场踏勘，依法延长审查期限"}
        extended = client.post(path, json=body, headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert extended.status_code == 200, extended.text
    assert extended.json()["clock"]["due"] == "2026-04-27"  # 2026-04-13 plus 10 working days

    office = login("dongcheng.zhujian")
    office.goto(f"{live_server.url}/applications/{plan['id']}")
    expect(office.locator("#deadline-step")).to_have_text("属地审查：法定时限 30 个工作日（含延长的 10 个工作日）")
    expect(office.locator("#deadline-due")).to_have_text("2026-04-27（星期一）24:00 前")
    expect(office.locator("#deadline-extended")).to_contain_text("已依法延长一次")


def test_a_public_notice_period_is_a_minimum_not_a_deadline(live_server: LiveServer, login: Login) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        plan = Driver(client).fire("owner", Driver(client).create("公示中的实施方案"), "publish_notice")
    owner = login("owner")
    owner.goto(f"{live_server.url}/applications/{plan['id']}")
    expect(owner.locator("#deadline-step")).to_have_text("方案公示：不少于 10 个自然日")
    expect(owner.locator("#deadline-due")).to_have_text("2026-03-12（星期四）24:00 前")
    expect(owner.locator("#deadline-days")).to_have_text("已过 0 个自然日，还需 10 个自然日")

    live_server.clock.advance(timedelta(days=11))  # the period ran out a day ago: nobody is late
    owner = login("owner")
    owner.goto(f"{live_server.url}/applications/{plan['id']}")
    expect(owner.locator("#deadline h2")).to_have_text("办理时限 公示期已满")
    expect(owner.locator("#deadline-period")).to_have_text("公示期已满，可以办理后续事项。")
    expect(owner.locator("#deadline-overdue")).to_have_count(0)
    owner.goto(f"{live_server.url}/inbox?view=mine")
    row = owner.locator(f"tr[data-application='{plan['id']}']")
    expect(row.locator("td.deadline-cell")).to_contain_text("公示期已满")
    expect(row).not_to_contain_text("已超期")

    owner.goto(f"{live_server.url}/applications/{plan['id']}")
    fire(owner, "withdraw", comment="项目调整，撤回重报")
    expect(owner.locator("#current-state")).to_have_text("已撤回")
    expect(owner.locator("#deadline-none")).to_have_text("申请已办结，不再计时。")
