"""Bad input in the browser: each gets a clear Chinese message and nothing typed is lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.factories import implementation_plan_data
from tests.web.conftest import LiveServer
from tests.web.test_journey import fill_application

Login = Callable[[str], Page]
Shots = Callable[..., Path]


def submitted_application(live_server: LiveServer) -> dict[str, Any]:
    """An implementation plan waiting for acceptance in 东城区, made through the JSON API."""
    with httpx.Client(base_url=live_server.url) as client:

        def headers() -> dict[str, str]:  # a fresh token: the clock moves past a token's lifetime here
            token = client.post("/api/v1/auth/token", data={"username": "owner", "password": "demo"}).json()
            return {"Authorization": f"Bearer {token['access_token']}"}

        body = {"workflow": "implementation_plan", "title": "临街商铺外立面整治", "data": implementation_plan_data()}
        application = client.post("/api/v1/applications", json=body, headers=headers()).json()
        for transition in ("publish_notice", "submit"):
            path = f"/api/v1/applications/{application['id']}/transitions/{transition}"
            response = client.post(path, json={"expected_version": application["version"]}, headers=headers())
            assert response.status_code == 200, response.text
            application = response.json()
            live_server.clock.advance(timedelta(days=11))  # 方案公示不少于 10 日
    return dict(application)


def test_missing_field_and_forged_csrf_token(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    owner = login("owner")
    response = owner.goto(f"{live_server.url}/applications/new?workflow=implementation_plan")
    assert response is not None
    assert "script-src 'self';" in response.headers["content-security-policy"]
    fill_application(owner, total_area="1200")
    owner.select_option("[name='field.district']", "")
    owner.click("#save-application")
    expect(owner.locator("[data-field=district] .field-error")).to_have_text("此项为必填项，请填写。")
    expect(owner.locator("#form-error")).to_have_text("有 1 处需要修改，请查看标红的栏目。")
    expect(owner.locator("[name='field.total_area']")).to_have_value("1200")

    owner.select_option("[name='field.district']", "dongcheng")
    owner.evaluate("document.querySelector('#application-form input[name=csrf_token]').value = 'forged'")
    owner.click("#save-application")
    expect(owner.locator("h1")).to_have_text("安全校验未通过")
    expect(owner.locator("#error-detail")).to_contain_text("本次提交未被处理")
    screenshots(owner, "08_forged_csrf")
    owner.go_back()  # what was typed is still there: the draft is kept in this browser
    expect(owner.locator("[name='field.design_scheme']")).to_have_value("design_scheme：按小区改造导则执行")
    owner.goto(f"{live_server.url}/inbox?view=mine")
    expect(owner.locator("#inbox-empty")).to_be_visible()


def test_stale_page_is_told_and_reloaded(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    application = submitted_application(live_server)
    url = f"{live_server.url}/applications/{application['id']}"
    stale = login("dongcheng.zhujian")
    stale.goto(url)
    stale.click("#action-request_supplement")
    stale.locator("#dialog-request_supplement button[type=submit]").click()
    dialog = stale.locator("#dialog-request_supplement")
    expect(dialog.locator("[data-field=items] .field-error")).to_have_text("此项为必填项，请填写。")
    dialog.locator("[name=comment]").fill("请补充材料")
    dialog.locator("button[data-close-dialog]").click()

    other = login("dongcheng.zhujian")
    other.goto(url)
    other.click("#action-accept")
    with other.expect_navigation():
        other.locator("#dialog-accept button[type=submit]").click()
    expect(other.locator("#current-state")).to_have_text("属地审查")

    stale.click("#action-accept")  # drawn before the other clerk accepted
    with stale.expect_navigation():
        stale.locator("#dialog-accept button[type=submit]").click()
    expect(stale.locator("#notice")).to_have_text("该申请刚刚已被他人办理，页面已刷新为最新状态。请核对后再办理。")
    expect(stale.locator("#current-state")).to_have_text("属地审查")
    expect(stale.locator("#timeline li", has_text="受理 · dongcheng.zhujian")).to_have_count(1)
    screenshots(stale, "09_stale_page")


def test_admin_cannot_publish_invalid_yaml(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    admin = login("admin")
    admin.goto(f"{live_server.url}/admin/workflows/implementation_plan")
    expect(admin.locator("#validation-status")).to_have_text("✓ 校验通过，可以发布")
    last_line: int = admin.evaluate("window.greenlaneEditor.lineCount()")
    admin.evaluate("window.greenlaneEditor.focus(); window.greenlaneEditor.execCommand('goDocEnd')")
    admin.keyboard.type("\nreviewers: [city.zhuanban]")
    admin.click("#publish")
    expect(admin.locator("#publish-error")).to_contain_text("未发布：工作流定义有误。")
    expect(admin.locator("#problems li").first).to_have_attribute("data-line", str(last_line + 1))
    expect(admin.locator("#problems li").first).to_contain_text("reviewers")
    assert "reviewers: [city.zhuanban]" in admin.evaluate("window.greenlaneEditor.getValue()")
    expect(admin.locator("#history tbody tr")).to_have_count(1)
    screenshots(admin, "10_publish_refused")
