"""The admin's version history in real Chromium: application counts per version and the diff of two versions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.api.test_workflow_publishing import IMPLEMENTATION_PLAN_YAML
from tests.factories import implementation_plan_data
from tests.web.conftest import LiveServer

Login = Callable[[str], Page]
Shots = Callable[..., Path]

V2_TITLE = "发布实施方案公示"
V2_YAML = IMPLEMENTATION_PLAN_YAML.replace("title: 发布方案公示\n", f"title: {V2_TITLE}\n", 1)


def token(client: httpx.Client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": "demo"})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_history_shows_counts_and_the_diff(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    assert V2_YAML != IMPLEMENTATION_PLAN_YAML
    with httpx.Client(base_url=live_server.url) as client:
        for title in ("v1 上的第一个申请", "v1 上的第二个申请"):
            body = {"workflow": "implementation_plan", "title": title, "data": implementation_plan_data()}
            created = client.post("/api/v1/applications", json=body, headers=token(client, "owner"))
            assert created.status_code == 201, created.text
        headers = {**token(client, "admin"), "Content-Type": "application/yaml"}
        published = client.put("/api/v1/workflows/implementation_plan", content=V2_YAML.encode(), headers=headers)
        assert published.status_code == 201, published.text

    admin = login("admin")
    admin.goto(f"{live_server.url}/admin/workflows/implementation_plan")
    expect(admin.locator("#history tbody tr").first).to_contain_text("第 2 版")
    admin.click("#history-link")
    expect(admin.locator("h1")).to_contain_text("版本历史")
    expect(admin.locator("#versions tr[data-version='2'] .count")).to_have_text("0")
    expect(admin.locator("#versions tr[data-version='1'] .count")).to_have_text("2")
    expect(admin.locator("#versions tr[data-version='2']")).to_contain_text("admin")
    expect(admin.locator("#diff-summary")).to_have_text("第 1 版 → 第 2 版：新增 1 行，删除 1 行")
    expect(admin.locator("#diff .diff-removed")).to_have_text(["-    title: 发布方案公示"])
    expect(admin.locator("#diff .diff-added")).to_have_text([f"+    title: {V2_TITLE}"])
    screenshots(admin, "09_workflow_history")

    admin.select_option("#diff-from", "2")
    admin.click("#show-diff")
    expect(admin.locator("#diff")).to_have_text("两个版本的 YAML 源文件完全相同。")
    admin.goto(f"{live_server.url}/admin/workflows/implementation_plan/history?from=1&to=9")
    expect(admin.locator("h1")).to_have_text("该工作流没有这个版本。")
    expect(admin.locator("#error-detail")).to_contain_text("没有第 9 版")

    owner = login("owner")
    owner.goto(f"{live_server.url}/admin/workflows/implementation_plan/history")
    expect(owner.locator("h1")).to_have_text("无权办理该事项。")
