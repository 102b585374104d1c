"""Refused requests: RFC 9457 problems with a stable code and a Chinese detail, and nothing changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt

from engine.clock import FixedClock
from tests.conftest import SECRET
from tests.factories import Api, assert_problem, implementation_plan_data, unit_plan_data, wait_out_notice

APPLICATIONS = "/api/v1/applications"


def audit_length(api: Api, application: dict[str, Any]) -> int:
    return len(api.get("admin", f"{APPLICATIONS}/{application['id']}/audit").json())


def snapshot(api: Api, application: dict[str, Any]) -> tuple[Any, ...]:
    """State, version, data, outcome, this application's audit length and the whole trail's length."""
    view = api.get("admin", f"{APPLICATIONS}/{application['id']}").json()
    events = api.get("admin", "/api/v1/audit/verify").json()
    assert events["ok"] is True
    return (view["state"], view["version"], view["data"], view["outcome"], audit_length(api, application),
            events["events"])  # fmt: skip


def everything(api: Api) -> tuple[list[tuple[int, str, int]], int]:
    items = api.get("admin", APPLICATIONS, params={"limit": 200}).json()["items"]
    events = api.get("admin", "/api/v1/audit/verify").json()["events"]
    return [(i["id"], i["state"], i["version"]) for i in items], events


def submitted(api: Api, clock: FixedClock, owner: str = "owner", **overrides: Any) -> dict[str, Any]:
    application = api.created(owner, "implementation_plan", implementation_plan_data(**overrides))
    application = api.step(owner, application, "publish_notice")
    wait_out_notice(clock, "implementation_plan")
    return api.step(owner, application, "submit")


def test_create_refusals(api: Api) -> None:
    api.created("owner", "implementation_plan", implementation_plan_data())
    before = everything(api)

    unknown = assert_problem(api.create("owner", "no_such_flow", {}), 404, "unknown_workflow")
    assert "no_such_flow" in unknown["detail"]

    undeclared = api.create("owner", "implementation_plan", implementation_plan_data(colour="绿色"))
    body = assert_problem(undeclared, 422, "invalid_data")
    assert "colour" in body["detail"]
    assert body["context"]["field"] == "colour"

    wrong_types = [("major", "yes"), ("total_area", "12000"), ("total_area", 1.5), ("district", "xicheng"),
                   ("renewal_type", "luxury"), ("notice_published_on", "2026-02-30"), ("design_scheme", 7)]  # fmt: skip
    for name, value in wrong_types:
        wrong = api.create("owner", "implementation_plan", implementation_plan_data(**{name: value}))
        body = assert_problem(wrong, 422, "invalid_data")
        assert name in body["detail"], (name, body["detail"])
        assert body["context"]["field"] == name

    missing = implementation_plan_data()
    del missing["district"]
    body = assert_problem(api.create("owner", "implementation_plan", missing), 422, "invalid_data")
    assert "district" in body["detail"]

    # malformed envelopes are 422 problems too, never 500
    for envelope in ({"title": "x", "data": {}}, {"workflow": "unit_plan", "title": "", "data": {}},
                     {"workflow": "implementation_plan", "title": "x", "data": [], "extra": 1}):  # fmt: skip
        response = api.client.post(APPLICATIONS, json=envelope, headers=api.headers("owner"))
        assert_problem(response, 422, "invalid_request")
    json_headers = {**api.headers("owner"), "Content-Type": "application/json"}
    not_json = api.client.post(APPLICATIONS, content=b"{not json", headers=json_headers)
    assert_problem(not_json, 422, "invalid_request")

    assert everything(api) == before


def test_transition_refusals_change_nothing(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock)
    before = snapshot(api, plan)
    assert before[:2] == ("submitted", 3)

    body = assert_problem(api.fire("dongcheng.zhujian", plan, "teleport"), 404, "unknown_transition")
    assert "teleport" in body["detail"]
    assert snapshot(api, plan) == before

    body = assert_problem(api.fire("owner", plan, "file"), 409, "transition_not_allowed")
    assert "file" in body["detail"]
    assert_problem(api.fire("dongcheng.gov", plan, "approve", data={"approval_doc_no": "x"}), 409,
                   "transition_not_allowed")  # fmt: skip
    assert snapshot(api, plan) == before

    stale = api.fire("dongcheng.zhujian", plan, "accept", version=2)
    body = assert_problem(stale, 409, "version_conflict")
    assert snapshot(api, plan) == before
    assert_problem(api.fire("dongcheng.zhujian", plan, "accept", version=99), 409, "version_conflict")
    assert snapshot(api, plan) == before

    # another jurisdiction or another department
    for outsider in ("linhe.zhujian", "dongcheng.gov", "city.zrzy", "city.fagai", "city.expert"):
        body = assert_problem(api.fire(outsider, plan, "accept"), 403, "permission_denied")
    assert snapshot(api, plan) == before

    # invalid transition input
    body = assert_problem(api.fire("dongcheng.zhujian", plan, "accept", data={"major": True}), 422, "invalid_data")
    assert "major" in body["detail"]
    body = assert_problem(api.fire("dongcheng.zhujian", plan, "request_supplement", data={"items": "一项"}), 422,
                          "invalid_data")  # fmt: skip
    assert "items" in body["detail"]
    assert snapshot(api, plan) == before

    # unknown application
    missing = {"id": 999_999, "version": 1}
    assert_problem(api.fire("dongcheng.zhujian", missing, "accept"), 404, "not_found")
    assert_problem(api.get("dongcheng.zhujian", f"{APPLICATIONS}/999999"), 404, "not_found")

    # malformed request bodies
    path = f"{APPLICATIONS}/{plan['id']}/transitions/accept"
    for body_json in ({}, {"expected_version": "three"}, {"expected_version": 3, "surprise": 1},
                      {"expected_version": 3, "data": ["x"]}):  # fmt: skip
        response = api.client.post(path, json=body_json, headers=api.headers("dongcheng.zhujian"))
        assert_problem(response, 422, "invalid_request")
    assert snapshot(api, plan) == before

    # and the right user with the right version still succeeds afterwards
    assert api.step("dongcheng.zhujian", plan, "accept")["state"] == "local_review"


def test_oversized_body(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock)
    before = snapshot(api, plan)
    huge = "很" * 400_000  # 1.2 MB of UTF-8
    response = api.fire("dongcheng.zhujian", plan, "accept", comment=huge)
    body = assert_problem(response, 413, "payload_too_large")
    assert snapshot(api, plan) == before
    created = api.create("owner", "implementation_plan", implementation_plan_data(design_scheme=huge))
    assert_problem(created, 413, "payload_too_large")
    yaml = api.client.put("/api/v1/workflows/unit_plan", content=b"#" * (1_048_576 + 1),
                          headers={**api.headers("admin"), "Content-Type": "application/yaml"})  # fmt: skip
    assert_problem(yaml, 413, "payload_too_large")

    assert snapshot(api, plan) == before
    assert "1048576" in body["detail"]


def test_oversized_chunked_body(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock)
    before = snapshot(api, plan)
    payload = json.dumps({"expected_version": plan["version"], "comment": "很" * 400_000, "data": {}}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65_536):
            yield payload[start : start + 65_536]

    headers = {**api.headers("dongcheng.zhujian"), "Content-Type": "application/json"}
    chunked = api.client.post(f"{APPLICATIONS}/{plan['id']}/transitions/accept", content=chunks(), headers=headers)
    assert snapshot(api, plan) == before
    assert_problem(chunked, 413, "payload_too_large")


def test_authentication(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock)
    before = snapshot(api, plan)
    path = f"{APPLICATIONS}/{plan['id']}"
    fire_path = f"{path}/transitions/accept"
    body = {"expected_version": plan["version"], "comment": "", "data": {}}

    missing = api.client.get(path)
    assert_problem(missing, 401, "unauthenticated")
    assert missing.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert_problem(api.client.post(fire_path, json=body), 401, "unauthenticated")
    assert_problem(api.client.get(APPLICATIONS, headers={"Authorization": "Bearer"}), 401, "unauthenticated")
    assert_problem(api.client.get(APPLICATIONS, headers={"Authorization": "Bearer not-a-jwt"}), 401,
                   "unauthenticated")  # fmt: skip

    # forged: right shape, wrong key; and a valid token with its signature tampered
    now = clock.now()
    forged = jwt.encode({"sub": "dongcheng.zhujian", "iat": now, "exp": now + timedelta(hours=1)},
                        "another-secret-key-0123456789abcdef0123", algorithm="HS256")  # fmt: skip
    assert_problem(api.client.post(fire_path, json=body, headers={"Authorization": f"Bearer {forged}"}), 401,
                   "unauthenticated")  # fmt: skip
    genuine = api.headers("dongcheng.zhujian")["Authorization"]
    tampered = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    assert_problem(api.client.post(fire_path, json=body, headers={"Authorization": tampered}), 401,
                   "unauthenticated")  # fmt: skip
    none_alg = jwt.encode({"sub": "admin", "exp": now + timedelta(hours=1)}, None, algorithm="none")
    assert_problem(api.client.get(path, headers={"Authorization": f"Bearer {none_alg}"}), 401, "unauthenticated")
    ghost = jwt.encode({"sub": "nobody", "exp": now + timedelta(hours=1)}, SECRET, algorithm="HS256")
    assert_problem(api.client.get(path, headers={"Authorization": f"Bearer {ghost}"}), 401, "unauthenticated")

    # wrong password / unknown user at login
    for username, password in (("owner", "wrong"), ("nobody", "demo")):
        login = api.client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert_problem(login, 401, "unauthenticated")

    # expired: a fresh token is good now and refused after its lifetime
    login = api.client.post("/api/v1/auth/token", data={"username": "dongcheng.zhujian", "password": "demo"})
    assert login.status_code == 200, login.text
    assert login.json()["token_type"] == "bearer"
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert api.client.get(path, headers=fresh).status_code == 200
    assert snapshot(api, plan) == before
    clock.advance(timedelta(hours=9))
    expired = api.client.post(fire_path, json=body, headers=fresh)
    assert_problem(expired, 401, "unauthenticated")
    assert_problem(api.client.get(path, headers=fresh), 401, "unauthenticated")

    # nothing changed: check with a token issued after the clock moved
    relogin = api.client.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"})
    admin = {"Authorization": f"Bearer {relogin.json()['access_token']}"}
    view = api.client.get(path, headers=admin).json()
    trail = api.client.get(f"{path}/audit", headers=admin).json()
    assert (view["state"], view["version"], len(trail)) == (before[0], before[1], before[4])


def test_idempotency_key(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock)
    first = api.fire("dongcheng.zhujian", plan, "accept", comment="受理", idempotency_key="accept-1")
    assert first.status_code == 200, first.text
    after = snapshot(api, plan)
    assert after[:2] == ("local_review", 4)

    replay = api.fire("dongcheng.zhujian", plan, "accept", comment="受理", idempotency_key="accept-1")
    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert snapshot(api, plan) == after  # no second audit entry, no new version

    reused = api.fire("dongcheng.zhujian", plan, "accept", comment="另一个理由", idempotency_key="accept-1")
    assert_problem(reused, 422, "idempotency_key_reused")
    other = api.fire("dongcheng.zhujian", plan, "return", comment="退回", idempotency_key="accept-1")
    assert_problem(other, 422, "idempotency_key_reused")
    assert snapshot(api, plan) == after

    # without the key, the same stale request is a plain version conflict
    assert_problem(api.fire("dongcheng.zhujian", plan, "accept", comment="受理"), 409, "version_conflict")
    assert snapshot(api, plan) == after
    accepts = [e for e in api.get("admin", f"{APPLICATIONS}/{plan['id']}/audit").json() if e["action"] == "accept"]
    assert len(accepts) == 1


def test_idempotency_key_on_create(api: Api) -> None:
    body = {"workflow": "implementation_plan", "title": "东城区示例小区改造", "data": implementation_plan_data()}
    headers = {**api.headers("owner"), "Idempotency-Key": "create-1"}
    first = api.client.post(APPLICATIONS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = api.client.post(APPLICATIONS, json=body, headers=headers)
    assert (replay.status_code, replay.json()) == (201, first.json())
    other = api.client.post(APPLICATIONS, json={**body, "title": "另一个项目"}, headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    refused = api.client.post(
        APPLICATIONS, json={**body, "workflow": "no_such"}, headers={**headers, "Idempotency-Key": "c2"}
    )
    assert_problem(refused, 404, "unknown_workflow")
    mine = api.get("owner", f"{APPLICATIONS}?mine=true").json()["items"]
    assert [item["id"] for item in mine] == [first.json()["id"]]  # one application, one create event
    creates = [
        e for e in api.get("admin", f"{APPLICATIONS}/{first.json()['id']}/audit").json() if e["action"] == "create"
    ]
    assert len(creates) == 1


def test_visibility_and_list_filters(api: Api, clock: FixedClock) -> None:
    mine = api.step("owner", api.created("owner", "implementation_plan", implementation_plan_data()), "publish_notice")
    theirs = api.created("owner2", "implementation_plan", implementation_plan_data(district="linhe"))
    theirs = api.step("owner2", theirs, "publish_notice")
    wait_out_notice(clock, "implementation_plan")
    mine = api.step("owner", mine, "submit")
    theirs = api.step("owner2", theirs, "submit")
    draft = api.created("owner", "implementation_plan", implementation_plan_data())
    unit = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data())

    # an applicant sees only its own organisation's applications
    denied = assert_problem(api.get("owner2", f"{APPLICATIONS}/{mine['id']}"), 403, "permission_denied")
    assert denied["detail"]
    assert_problem(api.get("owner2", f"{APPLICATIONS}/{mine['id']}/audit"), 403, "permission_denied")
    assert_problem(api.fire("owner2", mine, "withdraw", comment="x"), 403, "permission_denied")

    def ids(username: str, **params: Any) -> list[int]:
        response = api.get(username, APPLICATIONS, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("owner2") == [theirs["id"]]
    assert theirs["id"] > mine["id"] and draft["id"] > theirs["id"]
    assert ids("owner") == [draft["id"], mine["id"]]  # newest first
    assert ids("owner", mine="true") == [draft["id"], mine["id"]]
    assert ids("dongcheng.zhujian", mine="true") == [unit["id"]]
    assert set(ids("dongcheng.zhujian")) == {mine["id"], draft["id"], theirs["id"], unit["id"]}

    # the inbox: what the caller can fire now (ordered by urgency, so compared as sets)
    assert sorted(ids("dongcheng.zhujian", actionable="true")) == sorted([mine["id"], unit["id"]])
    assert ids("linhe.zhujian", actionable="true") == [theirs["id"]]
    assert sorted(ids("owner", actionable="true")) == sorted([mine["id"], draft["id"]])  # withdraw / publish_notice
    assert ids("city.gov", actionable="true") == []
    assert ids("dongcheng.zhujian", actionable="true", workflow="implementation_plan") == [mine["id"]]
    assert ids("dongcheng.zhujian", state="submitted") == [theirs["id"], mine["id"]]
    assert ids("dongcheng.zhujian", workflow="unit_plan") == [unit["id"]]

    api.step("dongcheng.zhujian", mine, "accept")
    assert mine["id"] in ids("dongcheng.zhujian", actionable="true")  # pass_review etc. now
    assert ids("dongcheng.zhujian", state="submitted") == [theirs["id"]]

    # bad query parameters are 422 problems
    assert_problem(api.get("owner", APPLICATIONS, params={"limit": 0}), 422, "invalid_request")
    assert_problem(api.get("owner", APPLICATIONS, params={"limit": "many"}), 422, "invalid_request")
    assert_problem(api.get("owner", APPLICATIONS, params={"cursor": "garbage!"}), 422, "invalid_data")
    assert_problem(api.get("owner", APPLICATIONS, params={"mine": "perhaps"}), 422, "invalid_request")


def test_cursor_pagination(api: Api) -> None:
    created = [api.created("owner", "implementation_plan", implementation_plan_data())["id"] for _ in range(5)]
    created.append(api.created("owner2", "implementation_plan", implementation_plan_data())["id"])

    def walk(username: str, **params: Any) -> list[int]:
        seen: list[int] = []
        cursor: str | None = None
        for _ in range(20):
            query = {"limit": 1, **params, **({"cursor": cursor} if cursor else {})}
            page = api.get(username, APPLICATIONS, params=query)
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= 1
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return seen
        raise AssertionError(f"pagination did not end: {seen}")

    everything = walk("dongcheng.zhujian")
    assert len(everything) == len(set(everything)) == 6
    assert everything == sorted(created, reverse=True)
    assert walk("owner") == sorted(created[:5], reverse=True)
    assert walk("owner2") == [created[5]]
    inbox = walk("owner", actionable="true")  # the owner's drafts await publish_notice
    assert sorted(inbox) == sorted(created[:5]) and len(set(inbox)) == 5
    full = api.get("dongcheng.zhujian", APPLICATIONS, params={"limit": 200}).json()
    assert [item["id"] for item in full["items"]] == everything
    assert full["next_cursor"] is None
    two = api.get("owner", APPLICATIONS, params={"limit": 2}).json()
    assert len(two["items"]) == 2 and two["next_cursor"]


def test_request_format_errors_are_explained_in_chinese(api: Api) -> None:
    body = {"workflow": "implementation_plan", "data": [], "colour": "红", "title": "x" * 1000}
    response = api.client.post(APPLICATIONS, json=body, headers=api.headers("owner"))
    problem = assert_problem(response, 422, "invalid_request")
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert messages == {"data": "应为对象（键值映射）", "colour": "不允许的字段", "title": "最多 256 个字符"}
    missing = api.client.post(APPLICATIONS, json={"workflow": "implementation_plan"}, headers=api.headers("owner"))
    assert {e["field"]: e["message"] for e in assert_problem(missing, 422, "invalid_request")["errors"]} == {
        "title": "必填"
    }  # fmt: skip
    assert "必填" in missing.json()["detail"]
