"""Admin: a workflow's version history with application counts, and the diff between two versions."""

from __future__ import annotations

from tests.api.test_workflow_publishing import NEW_TITLE, UNIT_PLAN_V2, current, put_yaml
from tests.factories import Api, assert_problem, unit_plan_data


def test_history_counts_applications_per_version_and_diffs_the_source(api: Api) -> None:
    api.created("dongcheng.zhujian", "unit_plan", unit_plan_data())
    api.created("dongcheng.zhujian", "unit_plan", unit_plan_data(unit_id="DC-U-02"))
    assert put_yaml(api, "admin", "unit_plan", UNIT_PLAN_V2).status_code == 201
    api.created("dongcheng.zhujian", "unit_plan", unit_plan_data(unit_id="DC-U-03"))
    api.created("linhe.zhujian", "unit_plan", unit_plan_data(district="linhe", unit_id="LH-U-01"))
    api.created("linhe.zhujian", "unit_plan", unit_plan_data(district="linhe", unit_id="LH-U-02"))

    response = api.get("admin", "/api/v1/workflows/unit_plan/versions")
    assert response.status_code == 200, response.text
    versions = response.json()
    assert [(v["version"], v["applications"]) for v in versions] == [(2, 3), (1, 2)]
    assert (versions[0]["title"], versions[0]["published_by"]) == (NEW_TITLE, "admin")
    assert versions[1]["published_by"] is None  # bundled at start-up
    assert versions[0]["content_hash"] == current(api)[1]
    others = api.get("admin", "/api/v1/workflows/implementation_plan/versions").json()
    assert [(v["version"], v["applications"]) for v in others] == [(1, 0)]

    response = api.get("admin", "/api/v1/workflows/unit_plan/diff", params={"from": 1, "to": 2})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert (diff["key"], diff["from_version"], diff["to_version"]) == ("unit_plan", 1, 2)
    removed = {line["text"] for line in diff["lines"] if line["kind"] == "removed"}
    added = {line["text"] for line in diff["lines"] if line["kind"] == "added"}
    assert "-title: 城市更新单元规划审批" in removed
    assert f"+title: {NEW_TITLE}" in added
    assert any(text.startswith("-") and "from: [draft, public_notice, submitted," in text for text in removed)
    assert (diff["added"], diff["removed"]) == (len(added), len(removed)) == (2, 2)
    assert [line["kind"] for line in diff["lines"][:3]] == ["header", "header", "hunk"]
    assert diff["unified"].splitlines()[:2] == ["--- unit_plan 第 1 版", "+++ unit_plan 第 2 版"]

    backwards = api.get("admin", "/api/v1/workflows/unit_plan/diff", params={"from": 2, "to": 1}).json()
    assert f"-title: {NEW_TITLE}" in {line["text"] for line in backwards["lines"]}
    same = api.get("admin", "/api/v1/workflows/unit_plan/diff", params={"from": 2, "to": 2}).json()
    assert (same["lines"], same["unified"], same["added"]) == ([], "", 0)


def test_history_and_diff_refuse_bad_input(api: Api) -> None:
    for user in ("owner", "dongcheng.zhujian", "city.zhuanban"):
        assert_problem(api.get(user, "/api/v1/workflows/unit_plan/versions"), 403, "permission_denied")
        refused = api.get(user, "/api/v1/workflows/unit_plan/diff", params={"from": 1, "to": 1})
        assert_problem(refused, 403, "permission_denied")
    assert api.client.get("/api/v1/workflows/unit_plan/versions").status_code == 401

    assert_problem(api.get("admin", "/api/v1/workflows/no_such_flow/versions"), 404, "unknown_workflow")
    missing = api.get("admin", "/api/v1/workflows/no_such_flow/diff", params={"from": 1, "to": 2})
    assert_problem(missing, 404, "unknown_workflow")
    body = assert_problem(
        api.get("admin", "/api/v1/workflows/unit_plan/diff", params={"from": 1, "to": 7}),
        404,
        "unknown_workflow_version",
    )
    assert "第 7 版" in body["detail"]
    assert body["context"] == {"workflow": "unit_plan", "version": 7}
    for params in ({"from": 0, "to": 1}, {"from": "一", "to": 1}, {"from": 1}, {"from": 1, "to": 2**40}):
        response = api.get("admin", "/api/v1/workflows/unit_plan/diff", params=params)
        assert_problem(response, 422, "invalid_request")
