from __future__ import annotations

from tests.factories import Api, implementation_plan_data


def test_healthz_and_bundled_workflows(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    keys = [w["key"] for w in api.get("owner", "/api/v1/workflows").json()]
    assert keys == ["implementation_plan", "unit_plan"]


def test_owner_creates_an_implementation_plan(api: Api) -> None:
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    assert application["state"] == "draft"
    assert application["version"] == 1
    assert application["applicant"] == "owner"
    assert {a["transition"] for a in application["available_actions"]} == {"publish_notice", "withdraw"}
