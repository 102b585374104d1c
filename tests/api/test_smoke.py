from __future__ import annotations

from api.services.workflows import bundled_sources
from engine.loading import load_spec
from tests.factories import Api, implementation_plan_data


def test_healthz_and_bundled_workflows(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    keys = [w["key"] for w in api.get("owner", "/api/v1/workflows").json()]
    bundled = sorted(load_spec(text).key for _, text in bundled_sources())
    assert keys == bundled
    assert {"special_plan", "unit_plan", "implementation_plan", "project_approval", "feature_town"} <= set(keys)


def test_owner_creates_an_implementation_plan(api: Api) -> None:
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    assert application["state"] == "draft"
    assert application["version"] == 1
    assert application["applicant"] == "owner"
    assert {a["transition"] for a in application["available_actions"]} == {"publish_notice", "withdraw"}
