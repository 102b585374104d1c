"""Drafts of the application form saved on the server: private to their owner, gone once submitted."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import create_engine, inspect, text

from api.db.migrate import alembic_config, check_models_match
from engine.clock import FixedClock
from tests.factories import Api, assert_problem, implementation_plan_data, wait_out_notice

TYPED = {"district": "dongcheng", "total_area": "一千二百", "design_scheme": "外立面改造"}


def save(api: Api, username: str, body: dict[str, Any], draft_id: int | None = None) -> Any:
    if draft_id is None:
        return api.client.post("/api/v1/drafts", json=body, headers=api.headers(username))
    return api.client.put(f"/api/v1/drafts/{draft_id}", json=body, headers=api.headers(username))


def saved(api: Api, username: str = "owner", **body: Any) -> dict[str, Any]:
    response = save(
        api, username, {"workflow": "implementation_plan", "title": "未完成的方案", "values": TYPED, **body}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def as_strings(data: dict[str, Any]) -> dict[str, str]:
    return {name: ("true" if v is True else "false" if v is False else str(v)) for name, v in data.items()}


def test_owner_saves_resumes_and_submits_a_draft(api: Api) -> None:
    draft = saved(api, values={**TYPED, "not_a_field": "丢弃"})
    assert draft["values"] == TYPED  # kept as typed, unchecked; fields the workflow lacks are dropped
    assert (draft["workflow"], draft["workflow_title"]) == ("implementation_plan", "城市更新项目实施方案审批")
    assert api.get("owner", f"/api/v1/drafts/{draft['id']}").json() == draft

    data = implementation_plan_data()
    body = {"workflow": "implementation_plan", "title": "和平里小区综合改善", "values": as_strings(data)}
    updated = save(api, "owner", body, draft["id"])
    assert updated.status_code == 200, updated.text
    assert (updated.json()["id"], updated.json()["title"]) == (draft["id"], "和平里小区综合改善")
    other = saved(api, title="另一份")
    assert [d["id"] for d in api.get("owner", "/api/v1/drafts").json()] == [other["id"], draft["id"]]

    create = {"workflow": "implementation_plan", "title": "和平里小区综合改善", "data": data, "draft_id": draft["id"]}
    created = api.client.post("/api/v1/applications", json=create, headers=api.headers("owner"))
    assert created.status_code == 201, created.text
    assert_problem(api.get("owner", f"/api/v1/drafts/{draft['id']}"), 404, "not_found")
    assert [d["id"] for d in api.get("owner", "/api/v1/drafts").json()] == [other["id"]]

    deleted = api.client.delete(f"/api/v1/drafts/{other['id']}", headers=api.headers("owner"))
    assert deleted.status_code == 204
    assert api.get("owner", "/api/v1/drafts").json() == []


def test_drafts_are_private_and_bad_input_changes_nothing(api: Api) -> None:
    draft = saved(api)
    path = f"/api/v1/drafts/{draft['id']}"
    for stranger in ("owner2", "admin", "dongcheng.zhujian"):
        assert api.get(stranger, "/api/v1/drafts").json() == []
        assert_problem(api.get(stranger, path), 404, "not_found")
        assert_problem(save(api, stranger, {"workflow": "implementation_plan", "values": {}}, draft["id"]), 404,
                       "not_found")  # fmt: skip
        assert_problem(api.client.delete(path, headers=api.headers(stranger)), 404, "not_found")
    assert api.client.get("/api/v1/drafts").status_code == 401

    assert_problem(save(api, "owner", {"workflow": "no_such_flow", "values": {}}), 404, "unknown_workflow")
    too_long = save(api, "owner", {"workflow": "implementation_plan", "values": {"design_scheme": "长" * 20_001}})
    assert assert_problem(too_long, 422, "invalid_data")["context"] == {"field": "design_scheme"}
    moved = save(api, "owner", {"workflow": "unit_plan", "values": {}}, draft["id"])
    assert assert_problem(moved, 422, "invalid_data")["context"] == {"field": "workflow"}
    assert_problem(save(api, "owner", {"workflow": "implementation_plan", "values": {"total_area": 1200}}), 422,
                   "invalid_request")  # fmt: skip
    assert_problem(save(api, "owner", {"workflow": "implementation_plan", "extra": 1}), 422, "invalid_request")
    assert_problem(api.get("owner", "/api/v1/drafts/0"), 422, "invalid_request")

    # a draft is spent only by its owner, on its own workflow; a refused application is not created
    before = api.get("owner", "/api/v1/applications?mine=true").json()["items"]
    create = {"workflow": "implementation_plan", "title": "借用他人草稿", "data": implementation_plan_data(),
              "draft_id": draft["id"]}  # fmt: skip
    refused = api.client.post("/api/v1/applications", json=create, headers=api.headers("owner2"))
    assert_problem(refused, 404, "not_found")
    assert api.get("owner2", "/api/v1/applications?mine=true").json()["items"] == []
    other_workflow = saved(api, workflow="project_approval", values={})
    mismatch = {**create, "draft_id": other_workflow["id"]}
    response = api.client.post("/api/v1/applications", json=mismatch, headers=api.headers("owner"))
    assert assert_problem(response, 422, "invalid_data")["context"] == {"field": "draft_id"}
    assert api.get("owner", "/api/v1/applications?mine=true").json()["items"] == before
    assert api.get("owner", path).json() == draft
    assert api.get("owner", f"/api/v1/drafts/{other_workflow['id']}").status_code == 200


def test_the_drafts_migration_goes_down_and_up_again(api: Api, database_url: str, clock: FixedClock) -> None:
    plan = api.created("owner", "implementation_plan", implementation_plan_data())  # rows that point at users
    plan = api.step("owner", plan, "publish_notice")
    wait_out_notice(clock, "implementation_plan")
    api.step("owner", plan, "submit")  # a deadline timer and its reminder
    saved(api)
    config = alembic_config(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        kinds = sorted(connection.execute(text("SELECT kind FROM timer")).scalars())
    assert "reminder" in kinds
    command.downgrade(config, "0005")
    try:
        with engine.connect() as connection:  # older code takes every timer for a deadline: only those remain
            assert connection.execute(text("SELECT count(*) FROM timer")).scalar_one() == kinds.count("deadline")
        assert "applicationdraft" not in inspect(engine).get_table_names()
        assert "session_generation" not in {column["name"] for column in inspect(engine).get_columns("user")}
        command.upgrade(config, "heads")
        assert "applicationdraft" in inspect(engine).get_table_names()
        assert "session_generation" in {column["name"] for column in inspect(engine).get_columns("user")}
    finally:
        engine.dispose()
    check_models_match(database_url)
