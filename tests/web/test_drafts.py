"""Drafts in real Chromium: an owner saves an unfinished form on the server, resumes it elsewhere, and submits it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer
from tests.web.test_journey import TITLE, fill_application

Login = Callable[[str], Page]
Shots = Callable[..., Path]


def test_save_a_draft_resume_it_in_another_browser_and_submit(
    live_server: LiveServer, login: Login, screenshots: Shots
) -> None:
    owner = login("owner")
    owner.goto(f"{live_server.url}/applications/new?workflow=implementation_plan")
    fill_application(owner, total_area="一千二百")  # not a number yet: a draft keeps it as typed
    owner.select_option("[name='field.district']", "")
    owner.click("#save-draft")
    expect(owner.locator("#notice")).to_contain_text("草稿已保存在服务器上")
    expect(owner.locator("[name='field.total_area']")).to_have_value("一千二百")
    expect(owner.locator(".field-error")).to_have_count(0)  # a draft is not checked

    elsewhere = login("owner")  # another browser: nothing in its local storage
    elsewhere.goto(f"{live_server.url}/applications/new")
    expect(elsewhere.locator("#drafts tbody tr")).to_have_count(1)
    expect(elsewhere.locator("#drafts")).to_contain_text(TITLE)
    expect(elsewhere.locator("#drafts")).to_contain_text("城市更新项目实施方案审批")
    screenshots(elsewhere, "13_my_drafts")
    elsewhere.click("#drafts >> text=继续填写")
    expect(elsewhere.locator("#draft-info")).to_be_visible()
    expect(elsewhere.locator("#title")).to_have_value(TITLE)
    expect(elsewhere.locator("[name='field.renewal_type']")).to_have_value("residential_improvement")
    expect(elsewhere.locator("[name='field.total_area']")).to_have_value("一千二百")

    elsewhere.click("#save-application")  # still wrong: checked now, shown by the field, the draft kept
    expect(elsewhere.locator("[data-field=total_area] .field-error")).to_have_text(
        "请输入整数（只含数字，例如 1200）。"
    )
    expect(elsewhere.locator("[data-field=district] .field-error")).to_have_text("此项为必填项，请填写。")
    elsewhere.fill("[name='field.total_area']", "1200")
    elsewhere.select_option("[name='field.district']", "dongcheng")
    elsewhere.click("#save-application")
    expect(elsewhere.locator("#current-state")).to_have_text("编制中")

    elsewhere.goto(f"{live_server.url}/applications/new")
    expect(elsewhere.locator("#drafts")).to_have_count(0)  # submitted: the draft went with it
    owner.click("#save-draft")  # the first browser's page is stale: told so, and nothing it shows is lost
    expect(owner.locator("#form-error")).to_contain_text("该草稿已不存在")
    expect(owner.locator("[name='field.total_area']")).to_have_value("一千二百")
    owner.click("#save-draft")  # saved again, as a new draft
    expect(owner.locator("#notice")).to_contain_text("草稿已保存在服务器上")
    owner.goto(f"{live_server.url}/applications/new")
    owner.click("#drafts button:has-text('删除')")
    expect(owner.locator("#notice")).to_have_text("草稿已删除。")
    expect(owner.locator("#drafts")).to_have_count(0)
