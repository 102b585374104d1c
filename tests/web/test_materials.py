"""Materials on the application page in real Chromium: the owner uploads a PDF and sees it listed; a file over
the limit and a forbidden type are refused in Chinese beside the form; the district office sees the list only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.factories import implementation_plan_data
from tests.web.conftest import LiveServer

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def create_application(page: Page, base_url: str, username: str) -> int:
    """Through the JSON API, with a bearer token: the form itself is covered by test_journey."""
    token = page.request.post(f"{base_url}/api/v1/auth/token", form={"username": username, "password": "demo"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    body = {"workflow": "implementation_plan", "title": "材料上传测试", "data": implementation_plan_data()}
    created = page.request.post(f"{base_url}/api/v1/applications", data=body, headers=headers)
    assert created.status == 201, created.text()
    return int(created.json()["id"])


def submit_file(page: Page, filename: str, data: bytes, mime_type: str = "application/pdf") -> None:
    form = page.locator("#material-upload")
    form.locator("[name=name]").fill("项目实施方案")
    form.locator("[name=file]").set_input_files({"name": filename, "mimeType": mime_type, "buffer": data})
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_owner_uploads_a_pdf_and_sees_refusals_in_chinese(
    live_server: LiveServer, login: Callable[[str], Page], screenshots: Callable[..., Path]
) -> None:
    owner = login("owner")
    application_id = create_application(owner, live_server.url, "owner")
    url = f"{live_server.url}/applications/{application_id}"
    owner.goto(url)
    expect(owner.locator("#materials-empty")).to_be_visible()

    submit_file(owner, "实施方案（盖章版）.pdf", PDF)
    expect(owner.locator("#notice")).to_contain_text("材料已上传")
    table = owner.locator("#materials-table")
    expect(table).to_contain_text("实施方案（盖章版）.pdf")
    expect(table).to_contain_text(hashlib.sha256(PDF).hexdigest()[:12])
    expect(table).to_contain_text("owner")
    expect(owner.locator("#timeline li").first).to_contain_text("上传材料 · owner")
    with owner.expect_download() as download:
        table.locator("a[data-material-link]").click()
    assert Path(download.value.path()).read_bytes() == PDF

    too_large = b"%PDF-1.4\n" + b"0" * 10_485_760  # the default limit is 10 MiB
    submit_file(owner, "扫描件.pdf", too_large)
    expect(owner.locator("#material-error")).to_contain_text("文件超过 10 MB 的上限")
    screenshots(owner, "08_material_too_large")

    submit_file(owner, "setup.exe", b"MZ\x90\x00", mime_type="application/octet-stream")
    expect(owner.locator("#material-error")).to_contain_text("不接受 .exe 文件")
    expect(owner.locator("#material-name")).to_have_value("项目实施方案")  # what was typed is kept
    expect(owner.locator("#materials-table tbody tr")).to_have_count(1)

    office = login("dongcheng.zhujian")
    office.goto(url)
    expect(office.locator("#materials-table")).to_contain_text("实施方案（盖章版）.pdf")
    expect(office.locator("#material-upload")).to_have_count(0)
