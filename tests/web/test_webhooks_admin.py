"""The webhook admin page in real Chromium: an admin subscribes (the secret shown once), disables and rotates,
redelivers a dead-lettered delivery and registers an inbound source; bad input and non-admins are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from api.db.database import Database
from api.services.context import Context
from api.services.outbox import DeliveryWorker
from tests.conftest import settings_for
from tests.factories import implementation_plan_data
from tests.web.conftest import LiveServer

Login = Callable[[str], Page]
Shots = Callable[..., Path]
RECEIVER = "https://erp.example.gov.cn/greenlane"


def send_deliveries(live_server: LiveServer, status_code: int) -> int:
    """One round of the delivery worker against a receiver answering ``status_code`` (one attempt, then dead)."""
    settings = settings_for(live_server.database_url).model_copy(update={"webhook_max_attempts": 1})
    context = Context(db=Database(live_server.database_url), clock=live_server.clock, settings=settings)
    receiver = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status_code, text="busy")))
    try:
        return DeliveryWorker(context, receiver).run_once()
    finally:
        context.db.dispose()


def create_application(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        token = client.post("/api/v1/auth/token", data={"username": "owner", "password": "demo"}).json()
        body = {"workflow": "implementation_plan", "title": "推送测试申请", "data": implementation_plan_data()}
        response = client.post(
            "/api/v1/applications", json=body, headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert response.status_code == 201, response.text


def test_admin_subscribes_sees_the_secret_once_and_disables(
    live_server: LiveServer, login: Login, screenshots: Shots
) -> None:
    admin = login("admin")
    admin.click("header nav >> text=Webhook 管理")
    expect(admin.locator("h1")).to_have_text("Webhook 管理")
    expect(admin.locator("#no-subscriptions")).to_be_visible()

    admin.fill("#url", "erp.example.gov.cn/greenlane")  # no scheme: refused, what was chosen kept
    admin.check("input[name=events][value='application.transitioned']")
    admin.select_option("#workflow", "implementation_plan")
    admin.click("#create-subscription")
    expect(admin.locator("[data-field=url] .field-error")).to_contain_text("以 http:// 或 https:// 开头的完整网址")
    expect(admin.locator("#url")).to_have_value("erp.example.gov.cn/greenlane")
    expect(admin.locator("input[name=events][value='application.transitioned']")).to_be_checked()
    expect(admin.locator("#workflow")).to_have_value("implementation_plan")
    admin.fill("#url", "https://erp example/greenlane")  # a space: the service's own check
    admin.click("#create-subscription")
    expect(admin.locator("[data-field=url] .field-error")).to_contain_text("无效的接收地址")
    expect(admin.locator("#no-subscriptions")).to_be_visible()  # nothing was created

    admin.fill("#url", RECEIVER)
    admin.check("input[name=events][value='application.created']")
    with admin.expect_response(lambda r: r.url.endswith("/admin/webhooks/subscriptions")) as answered:
        admin.click("#create-subscription")
    assert answered.value.headers["cache-control"] == "no-store"  # the back button does not bring the secret back
    expect(admin.locator("#new-secret")).to_contain_text("只显示这一次")
    secret = admin.locator("#new-secret-value").inner_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{40,}", secret), secret
    row = admin.locator("#subscriptions tr[data-subscription]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(RECEIVER)
    expect(row).to_contain_text("创建申请")
    expect(row).to_contain_text("城市更新项目实施方案审批")
    expect(row).to_contain_text("启用")
    screenshots(admin, "30_webhooks_created")

    admin.goto(f"{live_server.url}/admin/webhooks")  # shown once: never again on the page
    expect(admin.locator("#subscriptions")).to_contain_text(RECEIVER)
    assert secret not in admin.content()

    create_application(live_server)  # an event for the subscription; the receiver answers 503: dead-lettered
    assert send_deliveries(live_server, 503) == 1
    admin.reload()
    delivery = admin.locator("#delivery-log tr[data-delivery]").first
    expect(delivery).to_contain_text("投递失败（已停止重试）")
    expect(delivery).to_contain_text("HTTP 503")
    admin.locator("#delivery-log button[data-action=redeliver]").click()
    expect(admin.locator("#notice")).to_contain_text("已重新排队投递")
    expect(delivery).to_contain_text("待投递")
    assert send_deliveries(live_server, 200) == 1
    admin.reload()
    expect(delivery).to_contain_text("已送达")
    expect(delivery).to_contain_text("HTTP 200")
    expect(admin.locator("#delivery-log button[data-action=redeliver]")).to_have_count(0)

    admin.evaluate("document.querySelector('form[action$=rotate] input[name=csrf_token]').value = 'forged'")
    admin.click("button[data-action=rotate]")  # a forged form rotates nothing
    expect(admin.locator("h1")).to_have_text("安全校验未通过")
    admin.goto(f"{live_server.url}/admin/webhooks")
    expect(admin.locator("#subscriptions")).not_to_contain_text("旧密钥有效至")
    admin.click("button[data-action=rotate]")
    expect(admin.locator("#new-secret")).to_contain_text("旧密钥在 24 小时内")
    assert admin.locator("#new-secret-value").inner_text() not in ("", secret)
    expect(admin.locator("#subscriptions")).to_contain_text("旧密钥有效至")

    admin.click("button[data-action=disable]")
    expect(admin.locator("#notice")).to_contain_text("订阅已停用")
    expect(row).to_contain_text("已停用")
    expect(row.locator("button[data-action=enable]")).to_be_visible()

    admin.fill("#source-name", "tzxm_platform")
    admin.select_option("#source-account", "dongcheng.zhujian")
    admin.click("#create-source")
    expect(admin.locator("#new-source-secret")).to_contain_text("POST /api/v1/hooks/tzxm_platform")
    expect(admin.locator("#sources tr[data-source=tzxm_platform]")).to_contain_text("dongcheng.zhujian")
    admin.fill("#source-name", "tzxm_platform")
    admin.select_option("#source-account", "dongcheng.zhujian")
    admin.click("#create-source")
    expect(admin.locator("[data-field=name] .field-error")).to_have_text("来源名称 'tzxm_platform' 已被使用")
    expect(admin.locator("#new-source-secret")).to_have_count(0)
    screenshots(admin, "31_webhooks_admin")


def test_non_admin_is_refused(live_server: LiveServer, login: Login) -> None:
    office = login("dongcheng.zhujian")
    expect(office.locator("header nav")).not_to_contain_text("Webhook")
    office.goto(f"{live_server.url}/admin/webhooks")
    expect(office.locator("main")).to_contain_text("只有系统管理员可以管理 webhook")
    response = office.request.get(f"{live_server.url}/admin/webhooks")
    assert response.status == 403
