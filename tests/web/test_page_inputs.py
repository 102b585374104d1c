"""Page requests at the edges: ids beyond a BIGINT and digits int() refuses get a 4xx, never a 500.

Plain HTTP through the app (TestClient, on SQLite and PostgreSQL); the browser tests cover the pages'
behaviour, these only what a tampered request can send.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories import implementation_plan_data

HUGE = "99999999999999999999"


def logged_in(client: TestClient, username: str = "owner") -> str:
    """Log in through the page; returns a CSRF token for later forms."""
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token[1]},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code in (302, 303), response.text
    fresh = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/applications/new?workflow=implementation_plan").text
    )
    assert fresh is not None
    return fresh[1]


def test_ids_beyond_a_bigint_are_refused_not_crashed(client: TestClient) -> None:
    csrf = logged_in(client)
    for path in (f"/applications/{HUGE}", f"/applications/1/materials/{HUGE}"):
        assert client.get(path).status_code == 422, path
    for path in (f"/applications/{HUGE}/materials", f"/applications/drafts/{HUGE}/delete",
                 f"/applications/{HUGE}/transitions/submit"):  # fmt: skip
        assert client.post(path, data={"csrf_token": csrf}).status_code == 422, path


def test_superscript_digits_are_a_field_error_not_a_crash(client: TestClient) -> None:
    csrf = logged_in(client)
    fields = {f"field.{name}": str(value) for name, value in implementation_plan_data().items()}
    form = {"csrf_token": csrf, "workflow": "implementation_plan", "title": "东城区示例", **fields,
            "field.total_area": "²", "draft_id": "²"}  # fmt: skip
    response = client.post("/applications/new", data=form)
    assert response.status_code == 422, response.text[:500]
    assert "总面积" in response.text or "整数" in response.text
    saved = client.post("/applications/drafts", data=form, follow_redirects=False)
    assert saved.status_code < 500
