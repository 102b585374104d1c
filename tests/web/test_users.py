"""Users and departments in real Chromium: the admin creates a department and an account in it, whose owner
logs in; disabled, the account cannot, and its open session ends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import LiveServer

Login = Callable[[str], Page]
Shots = Callable[..., Path]
PASSWORD = "Linhe2026ok"


def log_in(page: Page, live_server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def fill_new_user(admin: Page, username: str, password: str) -> None:
    admin.fill("#username", username)
    admin.fill("#display_name", "临河县文旅局 李科员")
    admin.select_option("#organisation", "linhe_wenlv")
    admin.check("input[name=roles][value=checker]")
    admin.fill("#password", password)


def test_admin_creates_a_department_and_a_user_then_disables_it(
    live_server: LiveServer, login: Login, browser: Browser, screenshots: Shots
) -> None:
    admin = login("admin")
    admin.click("text=用户和部门")
    expect(admin.locator("#users tr[data-username=owner]")).to_contain_text("示例城市更新有限公司")
    expect(admin.locator("#organisations")).to_contain_text("临河县住房和城乡建设局")

    admin.fill("#department-name", "临河县文化和旅游局")
    admin.fill("#department-code", "Linhe WenLv")
    admin.select_option("#department-district", "linhe")
    admin.click("#create-department")
    expect(admin.locator("[data-field=department-code] .field-error")).to_contain_text("单位代码须为")
    expect(admin.locator("#department-name")).to_have_value("临河县文化和旅游局")
    admin.fill("#department-code", "linhe_wenlv")
    admin.click("#create-department")
    expect(admin.locator("#notice")).to_have_text("部门已创建，现在可以为它创建账号。")
    expect(admin.locator("#organisations")).to_contain_text("临河县文化和旅游局")
    expect(admin.locator("#organisation")).to_have_value("linhe_wenlv")  # the new user form starts there

    fill_new_user(admin, "owner", PASSWORD)  # taken: the form comes back with the reason, nothing else lost
    admin.click("#create-user")
    expect(admin.locator("[data-field=username] .field-error")).to_have_text("用户名 'owner' 已被使用，请换一个")
    expect(admin.locator("#display_name")).to_have_value("临河县文旅局 李科员")
    expect(admin.locator("#organisation")).to_have_value("linhe_wenlv")
    expect(admin.locator("input[name=roles][value=checker]")).to_be_checked()
    admin.fill("#username", "linhe.li")
    admin.fill("#password", "123")
    admin.click("#create-user")
    expect(admin.locator("[data-field=password] .field-error")).to_contain_text("密码至少 8 位")
    expect(admin.locator("#username")).to_have_value("linhe.li")
    admin.fill("#password", PASSWORD)
    admin.click("#create-user")
    expect(admin.locator("#notice")).to_have_text("账号已创建。请将初始密码告知本人。")
    expect(admin.locator("#account-events")).to_contain_text("创建账号 · admin")
    screenshots(admin, "10_user_created")

    admin.evaluate("document.querySelector('#password-form input[name=csrf_token]').value = 'forged'")
    admin.fill("#password", "Stolen2026x")
    admin.click("#reset-password")  # a forged form changes nothing: the clerk still logs in with the password below
    expect(admin.locator("h1")).to_have_text("安全校验未通过")
    admin.goto(f"{live_server.url}/admin/users/linhe.li")

    clerk = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    log_in(clerk, live_server, "linhe.li", PASSWORD)
    expect(clerk.locator("header .who")).to_contain_text("linhe.li")

    admin.click("#disable-user")
    expect(admin.locator("#account-status")).to_have_text("已停用")
    expect(admin.locator("#notice")).to_contain_text("已登录的会话也已失效")
    clerk.goto(f"{live_server.url}/inbox")  # the session opened before ends at its next request
    expect(clerk.locator("h1")).to_have_text("登录")
    log_in(clerk, live_server, "linhe.li", PASSWORD)
    expect(clerk.locator("[role=alert]")).to_have_text("该账号已停用，无法登录。如需恢复，请联系系统管理员。")
    screenshots(clerk, "11_login_disabled")

    admin.goto(f"{live_server.url}/admin/users")
    expect(admin.locator("#users tr[data-username='linhe.li'] .status-cell")).to_have_text("已停用")
    screenshots(admin, "12_users")
    clerk.context.close()
