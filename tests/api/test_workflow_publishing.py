"""Reading, validating and publishing workflow definitions (admin), and versions in flight."""

from __future__ import annotations

from pathlib import Path

from engine.clock import FixedClock
from tests.factories import Api, ProblemResponse, assert_problem, unit_plan_data, wait_out_notice

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
UNIT_PLAN_YAML = (WORKFLOWS / "unit_plan.yaml").read_text(encoding="utf-8")
IMPLEMENTATION_PLAN_YAML = (WORKFLOWS / "implementation_plan.yaml").read_text(encoding="utf-8")

NEW_TITLE = "城市更新单元规划审批（修订）"
# v2: a new title, and a plan may no longer be withdrawn while still in draft
UNIT_PLAN_V2 = UNIT_PLAN_YAML.replace("title: 城市更新单元规划审批\n", f"title: {NEW_TITLE}\n", 1).replace(
    "from: [draft, public_notice, submitted,", "from: [public_notice, submitted,", 1
)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first ``needle`` after the first ``after``."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def post_yaml(api: Api, username: str, path: str, text: str) -> ProblemResponse:
    headers = {**api.headers(username), "Content-Type": "application/yaml"}
    return api.client.post(path, content=text.encode("utf-8"), headers=headers)


def put_yaml(api: Api, username: str, key: str, text: str) -> ProblemResponse:
    headers = {**api.headers(username), "Content-Type": "application/yaml"}
    return api.client.put(f"/api/v1/workflows/{key}", content=text.encode("utf-8"), headers=headers)


def current(api: Api, key: str = "unit_plan") -> tuple[int, str, str]:
    body = api.get("admin", f"/api/v1/workflows/{key}").json()
    return body["version"], body["content_hash"], body["title"]


def test_definition_fields_and_diagram(api: Api) -> None:
    listing = {w["key"]: w for w in api.get("owner", "/api/v1/workflows").json()}
    assert listing["unit_plan"]["version"] == 1
    assert listing["unit_plan"]["title"] == "城市更新单元规划审批"

    response = api.get("owner", "/api/v1/workflows/unit_plan")
    assert response.status_code == 200, response.text
    definition = response.json()
    assert definition["key"] == "unit_plan"
    assert definition["version"] == 1
    assert isinstance(definition["content_hash"], str) and definition["content_hash"]
    assert definition["content_hash"] == listing["unit_plan"]["content_hash"]
    fields = {f["name"]: f for f in definition["fields"]}
    assert {"district", "unit_id", "special_plan_id", "adjusts_regulatory_plan",
            "regulatory_plan_adjustment_ref", "notice_summary"} <= set(fields)  # fmt: skip
    assert all(has_chinese(f["label"]) for f in fields.values())
    assert fields["district"]["label"] == "所在区县"
    assert fields["district"]["type"] == "enum"
    assert fields["district"]["required"] is True
    assert fields["district"]["enum"] == ["dongcheng", "linhe"]
    assert fields["adjusts_regulatory_plan"]["type"] == "boolean"
    assert fields["special_plan_id"]["type"] == "reference"

    diagram = api.get("owner", "/api/v1/workflows/unit_plan/diagram")
    assert diagram.status_code == 200
    assert diagram.headers["content-type"].startswith("text/plain")
    assert "stateDiagram-v2" in diagram.text
    for name in ("draft", "gov_approval", "filed", "acknowledge_filing"):
        assert name in diagram.text, name

    assert_problem(api.get("owner", "/api/v1/workflows/no_such_flow"), 404, "unknown_workflow")
    assert_problem(api.get("owner", "/api/v1/workflows/no_such_flow/diagram"), 404, "unknown_workflow")
    assert api.client.get("/api/v1/workflows/unit_plan").status_code == 401


def test_validate_reports_lines_and_changes_nothing(api: Api) -> None:
    before = current(api)
    ok = post_yaml(api, "admin", "/api/v1/workflows/unit_plan/validate", UNIT_PLAN_YAML)
    assert ok.status_code == 200, ok.text
    assert ok.json()["valid"] is True

    # a transition to a state that does not exist, reported on its own line
    broken = UNIT_PLAN_YAML.replace("    to: filed\n", "    to: fild\n", 1)
    expected_line = line_of(broken, "    to: fild\n")
    response = post_yaml(api, "admin", "/api/v1/workflows/unit_plan/validate", broken)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["valid"], body["code"]) == (False, "workflow_invalid")
    errors = body["errors"]
    assert errors and all(set(e) == {"line", "path", "message"} for e in errors)
    hit = [e for e in errors if "fild" in e["message"]]
    assert hit, errors
    assert hit[0]["line"] == expected_line
    assert hit[0]["path"].startswith("transitions[") and hit[0]["path"].endswith("].to")
    assert has_chinese(hit[0]["message"])

    # a misspelt key in a transition is located at that key's line
    typo = UNIT_PLAN_YAML.replace("    title: 予以备案\n", "    titel: 予以备案\n", 1)
    response = post_yaml(api, "admin", "/api/v1/workflows/unit_plan/validate", typo)
    assert response.status_code == 422, response.text
    lines = {e["line"] for e in response.json()["errors"]}
    assert line_of(typo, "    titel: 予以备案\n") in lines

    # YAML that does not even parse
    response = post_yaml(api, "admin", "/api/v1/workflows/unit_plan/validate", "key: unit_plan\nstates: [a, b\n")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["line"] >= 1

    # a document for another workflow: located at its key
    other = UNIT_PLAN_YAML.replace("key: unit_plan\n", "key: special_plan\n", 1)
    response = post_yaml(api, "admin", "/api/v1/workflows/unit_plan/validate", other)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["line"], error["path"]) == (line_of(other, "key: special_plan\n"), "key")
    assert "special_plan" in error["message"]

    assert current(api) == before
    assert {w["version"] for w in api.get("admin", "/api/v1/workflows").json()} == {1}


def test_publish_new_version_keeps_applications_in_flight(api: Api, clock: FixedClock) -> None:
    old = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data())
    old_draft = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data(unit_id="DC-U-02"))
    assert old["workflow_version"] == 1
    v1_version, v1_hash, _ = current(api)

    response = put_yaml(api, "admin", "unit_plan", UNIT_PLAN_V2)
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["version"] == 2
    assert published["title"] == NEW_TITLE
    assert published["content_hash"] != v1_hash
    assert current(api) == (2, published["content_hash"], NEW_TITLE)
    listing = {w["key"]: w["version"] for w in api.get("owner", "/api/v1/workflows").json()}
    assert listing["unit_plan"] == 2
    assert {version for key, version in listing.items() if key != "unit_plan"} == {1}

    # the application started on v1 keeps v1: withdraw from draft still exists for it
    view = api.get("dongcheng.zhujian", f"/api/v1/applications/{old['id']}").json()
    assert view["workflow_version"] == 1
    assert {a["transition"] for a in view["available_actions"]} == {"publish_notice", "withdraw"}
    old = api.step("dongcheng.zhujian", old, "publish_notice")
    wait_out_notice(clock, "unit_plan")
    old = api.step("dongcheng.zhujian", old, "submit")
    old = api.step("city.zrzy", old, "accept")
    assert (old["state"], old["workflow_version"]) == ("planning_review", 1)
    gone = api.step("dongcheng.zhujian", old_draft, "withdraw", comment="v1 允许在编制中撤回")
    assert (gone["state"], gone["workflow_version"]) == ("withdrawn", 1)
    entries = api.get("admin", f"/api/v1/applications/{old['id']}/audit").json()
    assert {e["data"]["workflow_version"] for e in entries[1:]} == {1}

    # a new application starts on v2, where draft can no longer be withdrawn
    new = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data(unit_id="DC-U-03"))
    assert new["workflow_version"] == 2
    assert {a["transition"] for a in new["available_actions"]} == {"publish_notice"}
    refused = api.fire("dongcheng.zhujian", new, "withdraw", comment="试试")
    assert_problem(refused, 409, "transition_not_allowed")
    new = api.step("dongcheng.zhujian", new, "publish_notice")
    assert "withdraw" in {a["transition"] for a in new["available_actions"]}

    # identical content again: no new version
    again = put_yaml(api, "admin", "unit_plan", UNIT_PLAN_V2)
    assert again.status_code == 200, again.text
    assert (again.json()["version"], again.json()["content_hash"]) == (2, published["content_hash"])
    # a comment or re-indentation is not new content either
    commented = put_yaml(api, "admin", "unit_plan", "# 仅增加注释\n" + UNIT_PLAN_V2)
    assert commented.status_code == 200, commented.text
    assert commented.json()["version"] == 2
    assert current(api)[0] == 2
    assert v1_version == 1


def test_publish_refusals_change_nothing(api: Api) -> None:
    before = current(api)
    for user in ("owner", "dongcheng.zhujian", "city.zhuanban"):
        assert_problem(put_yaml(api, user, "unit_plan", UNIT_PLAN_V2), 403, "permission_denied")
    assert current(api) == before

    broken = UNIT_PLAN_V2.replace("    to: filed\n", "    to: fild\n", 1)
    response = put_yaml(api, "admin", "unit_plan", broken)
    body = assert_problem(response, 422, "workflow_invalid")
    assert any(e["line"] == line_of(broken, "    to: fild\n") for e in body["errors"]), body["errors"]
    assert all(set(e) >= {"line", "path", "message"} for e in body["errors"])
    assert current(api) == before

    # the YAML's key must match the URL
    mismatch = put_yaml(api, "admin", "unit_plan", IMPLEMENTATION_PLAN_YAML)
    body = assert_problem(mismatch, 422, "workflow_invalid")
    assert "implementation_plan" in body["detail"]
    assert [(e["line"], e["path"]) for e in body["errors"]] == [(line_of(IMPLEMENTATION_PLAN_YAML, "key: "), "key")]
    assert current(api) == before
    assert current(api, "implementation_plan")[0] == 1

    empty = put_yaml(api, "admin", "unit_plan", "")
    assert_problem(empty, 422, "workflow_invalid")
    assert current(api) == before
    assert api.client.put("/api/v1/workflows/unit_plan", content=UNIT_PLAN_V2.encode()).status_code == 401
    assert current(api) == before
