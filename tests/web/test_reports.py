"""The report pages in real Chromium: 超期清单 and 月度通报 with their CSV links, for officials only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.factories import at, implementation_plan_data
from tests.web.conftest import LiveServer

Login = Callable[[str], Page]
Shots = Callable[..., Path]


def _fire(client: httpx.Client, username: str, application: dict[str, Any], transition: str) -> dict[str, Any]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": "demo"}).json()["access_token"]
    body = {"expected_version": application["version"], "data": {}}
    response = client.post(f"/api/v1/applications/{application['id']}/transitions/{transition}", json=body,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.status_code == 200, response.text
    return dict(response.json())


def _overdue_plan(live_server: LiveServer) -> int:
    """A 东城区 plan submitted in March and accepted 03-16 (due 04-14), still in review on 04-20."""
    with httpx.Client(base_url=live_server.url) as client:
        token = client.post("/api/v1/auth/token", data={"username": "owner", "password": "demo"}).json()
        body = {"workflow": "implementation_plan", "title": "东城区老旧小区改造", "data": implementation_plan_data()}
        created = client.post("/api/v1/applications", json=body,
                              headers={"Authorization": f"Bearer {token['access_token']}"})  # fmt: skip
        assert created.status_code == 201, created.text
        plan = _fire(client, "owner", created.json(), "publish_notice")
        at(live_server.clock, "2026-03-13")
        plan = _fire(client, "owner", plan, "submit")
        at(live_server.clock, "2026-03-16")
        plan = _fire(client, "dongcheng.zhujian", plan, "accept")
        assert plan["clock"]["due"] == "2026-04-14"
    at(live_server.clock, "2026-04-20")
    return int(plan["id"])


def test_overdue_list_and_monthly_bulletin_pages(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    plan_id = _overdue_plan(live_server)
    office = login("city.zhuanban")
    office.click("#nav-overdue")
    expect(office.locator("h1")).to_have_text("超期清单")
    row = office.locator(f"#overdue tr[data-application='{plan_id}']")
    expect(row.locator(".overdue-working-days")).to_have_text("4")  # 04-15, 04-16, 04-17, 04-20
    expect(row).to_contain_text("属地审查")
    expect(row).to_contain_text("2026-04-14")
    csv = office.request.get(live_server.url + (office.locator("#csv-link").get_attribute("href") or ""))
    assert csv.ok and csv.body().startswith("\ufeff申请编号".encode())
    screenshots(office, "10_overdue_list")

    office.click("#nav-monthly")
    expect(office.locator("h1")).to_have_text("月度通报 2026-03：审批办理情况")  # the month before today's
    march = office.locator("#monthly tr[data-district='dongcheng'][data-workflow='implementation_plan'] td.count")
    expect(march).to_have_text(["1", "1", "0", "0", "0", "0", "0", "0", "1", "0", "0", "0"])
    expect(office.locator("#monthly tr[data-district='linhe'][data-workflow='all'] td.count").first).to_have_text("0")
    screenshots(office, "11_monthly_bulletin")
    office.fill("#filter-month", "2026-04")
    office.click("#show-month")
    expect(office.locator("h1")).to_have_text("月度通报 2026-04：审批办理情况")
    april = office.locator("#monthly tr[data-district='dongcheng'][data-workflow='implementation_plan'] td.count")
    expect(april.nth(8)).to_have_text("1")  # still open at the end of April
    expect(april.nth(9)).to_have_text("1")  # and overdue then
    csv = office.request.get(live_server.url + (office.locator("#csv-link").get_attribute("href") or ""))
    assert csv.ok and csv.body().decode("utf-8-sig").startswith("区县,审批事项,新收件")

    owner = login("owner")
    expect(owner.locator("#nav-overdue")).to_have_count(0)
    owner.goto(f"{live_server.url}/reports/monthly?month=2026-04")
    expect(owner.locator("h1")).to_have_text("无权办理该事项。")
