"""The main journey in real Chromium: an owner applies, the district office asks for more, then approves;
an admin edits the workflow in the YAML editor and publishes version 2."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer

TITLE = "东城区和平里小区综合改善实施方案"
SIX_CONTENTS = ("renewal_approach", "implementation_path", "design_scheme", "construction_scheme",
                "management_mechanism", "operation_plan")  # fmt: skip

Login = Callable[[str], Page]
Shots = Callable[..., Path]


def field(page: Page, name: str) -> str:
    return f"[name='field.{name}']"


def fire(page: Page, transition: str, fields: dict[str, str] | None = None, comment: str = "") -> None:
    """Open the action's dialog, fill it, confirm; the page reloads on success."""
    page.click(f"#action-{transition}")
    dialog = page.locator(f"#dialog-{transition}")
    expect(dialog).to_be_visible()
    for name, value in (fields or {}).items():
        dialog.locator(f"[name='field.{name}']").fill(value)
    if comment:
        dialog.locator("[name=comment]").fill(comment)
    with page.expect_navigation():
        dialog.locator("button[type=submit]").click()


def fill_application(page: Page, total_area: str) -> None:
    page.fill("#title", TITLE)
    page.select_option(field(page, "district"), "dongcheng")
    page.select_option(field(page, "renewal_type"), label="居住区综合改善类")
    page.select_option(field(page, "entity_basis"), "property_right_holder")
    page.select_option(field(page, "tenure_mode"), "consent_only")
    page.select_option(field(page, "rebuild_or_alter"), "false")
    for name in SIX_CONTENTS:
        page.fill(field(page, name), f"{name}：按小区改造导则执行")
    page.fill(field(page, "total_area"), total_area)


def test_application_from_form_to_district_approval(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    owner = login("owner")
    screenshots(owner, "01_inbox_owner_empty")
    owner.goto(f"{live_server.url}/applications/new")
    owner.click("text=城市更新项目实施方案审批")
    fill_application(owner, total_area="一千二百")
    owner.click("#save-application")
    expect(owner.locator("[data-field=total_area] .field-error")).to_have_text("请输入整数（只含数字，例如 1200）。")
    expect(owner.locator(field(owner, "design_scheme"))).to_have_value("design_scheme：按小区改造导则执行")
    screenshots(owner, "02_form_with_error")

    owner.fill(field(owner, "total_area"), "1200")
    owner.click("#save-application")
    expect(owner.locator("#current-state")).to_have_text("编制中")
    expect(owner.locator("#notice")).to_contain_text("申请已保存")
    application_url = owner.url.split("?")[0]
    fire(owner, "publish_notice")
    expect(owner.locator("#current-state")).to_have_text("方案公示")
    live_server.clock.advance(timedelta(days=11))  # 方案公示不少于 10 日
    owner.reload()  # eleven days later the session has expired: log in again and come back
    expect(owner.locator("h1")).to_have_text("登录")
    owner = login("owner")
    owner.goto(application_url)
    fire(owner, "submit")
    expect(owner.locator("#current-state")).to_have_text("待受理")

    office = login("dongcheng.zhujian")
    expect(office.locator("#inbox-table")).to_contain_text(TITLE)
    expect(office.locator("select[data-filter=district]")).to_contain_text("东城区（中心城区）（1）")
    screenshots(office, "03_inbox_district_office")
    screenshots(office, "docs_inbox", full_page=False)
    office.click(f"text={TITLE}")
    expect(office.locator("#action-accept")).to_be_enabled()
    expect(office.locator("#action-supplement")).to_have_count(0)
    fire(office, "request_supplement", {"items": "业主表决情况说明\n公示照片"})
    expect(office.locator("#current-state")).to_have_text("待补正")

    owner.goto(application_url)
    expect(owner.locator("#timeline")).to_contain_text("业主表决情况说明；公示照片")
    fire(owner, "supplement", comment="已补充业主表决情况说明和公示照片")
    expect(owner.locator("#current-state")).to_have_text("待受理")

    office.goto(application_url)
    fire(office, "accept")
    expect(office.locator("#current-state")).to_have_text("属地审查")
    fire(office, "pass_review", {"review_opinion": "方案符合要求，同意报属地政府批准。"})
    expect(office.locator("#current-state")).to_have_text("属地政府批准")
    expect(office.locator("#timeline li").first).to_contain_text("审查通过 · dongcheng.zhujian")
    expect(office.locator("#timeline")).to_contain_text("2026-03-13")  # Shanghai time, after the 11-day notice
    office.locator("#diagram").scroll_into_view_if_needed()  # mermaid loads when the diagram comes into view
    expect(office.locator("#diagram svg")).to_be_visible()
    expect(office.locator("#diagram svg .s_active")).to_contain_text("属地政府批准")
    screenshots(office, "04_application_approved_by_office")
    office.set_viewport_size({"width": 1200, "height": 760})  # the README's picture: small enough for the repo
    office.evaluate("window.scrollTo(0, 0)")
    screenshots(office, "docs_application", full_page=False)

    owner.goto(application_url)
    expect(owner.locator("#action-withdraw")).to_be_enabled()
    screenshots(owner, "05_application_owner_view")


def test_admin_breaks_fixes_and_publishes(live_server: LiveServer, login: Login, screenshots: Shots) -> None:
    admin = login("admin")
    admin.click("text=工作流管理")
    expect(admin.locator("#workflow-list")).to_contain_text("城市更新项目实施方案审批")
    admin.click("#workflow-list tr:has-text('implementation_plan') a")
    expect(admin.locator("#validation-status")).to_have_text("✓ 校验通过，可以发布")
    expect(admin.locator("#preview svg")).to_be_visible()
    expect(admin.locator("#history tbody tr")).to_have_count(1)

    line = _select_in_editor(admin, "kind: other", "other")  # publish_notice's kind
    admin.keyboard.type("othr")
    expect(admin.locator("#validation-status")).to_have_text("发现 1 处问题")
    expect(admin.locator("#problems li")).to_have_attribute("data-line", str(line))
    expect(admin.locator(".CodeMirror .line-error")).to_have_count(1)
    screenshots(admin, "06_editor_error")

    _select_in_editor(admin, "kind: othr", "othr")
    admin.keyboard.type("other")
    _select_in_editor(admin, "title: 发布方案公示", "发布方案公示")
    admin.keyboard.type("发布实施方案公示")
    expect(admin.locator("#validation-status")).to_have_text("✓ 校验通过，可以发布")
    admin.click("#publish")
    expect(admin.locator("#notice")).to_have_text("已发布为第 2 版。进行中的申请仍按原版本办理。")
    expect(admin.locator("#history tbody tr").first).to_contain_text("第 2 版")
    expect(admin.locator("#history tbody tr").first).to_contain_text("admin")
    screenshots(admin, "07_editor_published")

    admin.click("#logout")
    expect(admin.locator("h1")).to_have_text("登录")
    admin.goto(f"{live_server.url}/admin/workflows")
    expect(admin.locator("h1")).to_have_text("登录")


def _select_in_editor(page: Page, line_text: str, word: str) -> int:
    """Select ``word`` on the first editor line containing ``line_text``; returns that line (1-based)."""
    line: int = page.evaluate(
        """([lineText, word]) => {
            const cm = window.greenlaneEditor;
            for (let n = 0; n < cm.lineCount(); n++) {
                const at = cm.getLine(n).indexOf(lineText);
                if (at >= 0) {
                    const start = cm.getLine(n).indexOf(word, at);
                    cm.focus();
                    cm.setSelection({line: n, ch: start}, {line: n, ch: start + word.length});
                    return n + 1;
                }
            }
            return -1;
        }""",
        [line_text, word],
    )
    assert line > 0, line_text
    return line
