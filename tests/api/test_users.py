"""Admin: user accounts — create, disable and enable, reset a password, change roles — and their bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, create_engine, select

from api.db.models import AuditEvent
from tests.factories import Api, assert_problem, implementation_plan_data

PASSWORD = "Xicheng2026"
NEW_USER = {
    "username": "dongcheng.clerk",
    "display_name": "东城区住建局 王科员",
    "organisation": "dongcheng_zhujian",
    "roles": ["local_renewal_office"],
    "password": PASSWORD,
}


def login(api: Api, username: str, password: str) -> Any:
    return api.client.post("/api/v1/auth/token", data={"username": username, "password": password})


def bearer(api: Api, username: str, password: str) -> dict[str, str]:
    response = login(api, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def create(api: Api, **overrides: Any) -> Any:
    return api.client.post("/api/v1/users", json={**NEW_USER, **overrides}, headers=api.headers("admin"))


def usernames(api: Api) -> list[str]:
    response = api.get("admin", "/api/v1/users")
    assert response.status_code == 200, response.text
    return [user["username"] for user in response.json()]


def test_admin_creates_a_user_who_logs_in_and_works(api: Api) -> None:
    response = create(api)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["organisation"] == "dongcheng_zhujian"
    assert created["organisation_name"] == "东城区住房和城乡建设局"
    assert (created["district"], created["roles"], created["is_active"]) == (
        "dongcheng",
        ["local_renewal_office"],
        True,
    )
    assert "password" not in response.text and "argon2" not in response.text
    listed = {user["username"]: user for user in api.get("admin", "/api/v1/users").json()}
    assert listed["dongcheng.clerk"] == created
    assert listed["owner"]["organisation_name"] == "示例城市更新有限公司"

    # the new clerk works the district office's inbox like the demo account
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    application = api.step("owner", application, "publish_notice")
    headers = bearer(api, "dongcheng.clerk", PASSWORD)
    seen = api.client.get(f"/api/v1/applications/{application['id']}", headers=headers)
    assert seen.status_code == 200, seen.text

    events = api.get("admin", "/api/v1/users/dongcheng.clerk/audit").json()
    assert [(e["action"], e["actor"], e["application_id"]) for e in events] == [("user_created", "admin", None)]
    assert events[0]["data"] == {"username": "dongcheng.clerk", "organisation": "dongcheng_zhujian",
                                 "roles": ["local_renewal_office"]}  # fmt: skip
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True
    organisations = {o["code"]: o for o in api.get("admin", "/api/v1/organisations").json()}
    assert organisations["dongcheng_zhujian"]["users"] == 2
    assert organisations["dongcheng_zhujian"]["district_name"] == "东城区"
    assert api.get("admin", "/api/v1/roles").json()["local_renewal_office"] == "城市更新工作机构"


def test_disabling_refuses_login_and_ends_existing_tokens(api: Api) -> None:
    assert create(api).status_code == 201
    headers = bearer(api, "dongcheng.clerk", PASSWORD)
    assert api.client.get("/api/v1/workflows", headers=headers).status_code == 200

    disabled = api.client.post("/api/v1/users/dongcheng.clerk/disable", headers=api.headers("admin"))
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["is_active"] is False
    assert_problem(api.client.get("/api/v1/workflows", headers=headers), 401, "account_disabled")
    body = assert_problem(login(api, "dongcheng.clerk", PASSWORD), 401, "account_disabled")
    assert "已停用" in body["detail"]
    wrong = assert_problem(login(api, "dongcheng.clerk", "Wrong12345"), 401, "unauthenticated")
    assert wrong["detail"] == "用户名或密码错误"  # a stranger learns nothing about the account

    enabled = api.client.post("/api/v1/users/dongcheng.clerk/enable", headers=api.headers("admin"))
    assert enabled.json()["is_active"] is True
    # enabling again does not revive the sessions that disabling ended
    revived = assert_problem(api.client.get("/api/v1/workflows", headers=headers), 401, "unauthenticated")
    assert "请重新登录" in revived["detail"]
    fresh = bearer(api, "dongcheng.clerk", PASSWORD)
    assert api.client.get("/api/v1/workflows", headers=fresh).status_code == 200
    actions = [e["action"] for e in api.get("admin", "/api/v1/users/dongcheng.clerk/audit").json()]
    assert actions == ["user_enabled", "user_disabled", "user_created"]

    refused = api.client.post("/api/v1/users/admin/disable", headers=api.headers("admin"))
    assert assert_problem(refused, 422, "invalid_data")["context"] == {"field": "username"}
    assert login(api, "admin", "demo").status_code == 200


def test_reset_password_and_change_roles(api: Api) -> None:
    assert create(api, roles=["admin"]).status_code == 201
    headers = bearer(api, "dongcheng.clerk", PASSWORD)
    assert api.client.get("/api/v1/users", headers=headers).status_code == 200

    reset = api.client.post("/api/v1/users/dongcheng.clerk/password", json={"password": "Newpass2026"},
                            headers=api.headers("admin"))  # fmt: skip
    assert reset.status_code == 200, reset.text
    assert_problem(login(api, "dongcheng.clerk", PASSWORD), 401, "unauthenticated")
    # whoever was logged in with the old password is logged out
    assert_problem(api.client.get("/api/v1/users", headers=headers), 401, "unauthenticated")
    headers = bearer(api, "dongcheng.clerk", "Newpass2026")
    assert api.client.get("/api/v1/users", headers=headers).status_code == 200

    changed = api.client.put("/api/v1/users/dongcheng.clerk/roles", json={"roles": ["applicant", "applicant"]},
                             headers=api.headers("admin"))  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["applicant"]
    # roles are read on every request: the same token has lost the admin role at once
    assert_problem(api.client.get("/api/v1/users", headers=headers), 403, "permission_denied")
    body = {"workflow": "implementation_plan", "title": "新实施主体的申请", "data": implementation_plan_data()}
    created = api.client.post("/api/v1/applications", headers=headers, json=body)
    assert created.status_code == 201, created.text

    events = api.get("admin", "/api/v1/users/dongcheng.clerk/audit").json()
    assert [e["action"] for e in events] == ["user_roles_changed", "user_password_reset", "user_created"]
    assert events[0]["data"] == {"username": "dongcheng.clerk", "roles_before": ["admin"], "roles": ["applicant"]}
    assert events[1]["data"] == {"username": "dongcheng.clerk"}  # never the password or its hash

    own = api.client.put("/api/v1/users/admin/roles", json={"roles": ["local_gov"]}, headers=api.headers("admin"))
    assert assert_problem(own, 422, "invalid_data")["context"] == {"field": "roles"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"roles": ["city_boss"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"roles": ["system"]}, "roles"),
        ({"organisation": "nowhere"}, "organisation"),
        ({"password": ""}, "password"),
        ({"password": "short1"}, "password"),
        ({"password": "onlyletters"}, "password"),
        ({"password": "1234567890"}, "password"),
        ({"password": "dongcheng.clerk9"}, "password"),
        ({"username": "王科员"}, "username"),
        ({"username": "Dongcheng"}, "username"),
        ({"username": ""}, "username"),
        ({"display_name": "  "}, "display_name"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(api: Api, overrides: dict[str, Any], field: str) -> None:
    before = usernames(api)
    body = assert_problem(create(api, **overrides), 422, "invalid_data")
    assert body["context"]["field"] == field
    assert usernames(api) == before


def test_duplicates_strangers_and_unknown_accounts_are_refused(api: Api) -> None:
    assert create(api).status_code == 201
    before = usernames(api)
    for taken in ("dongcheng.clerk", "owner"):
        body = assert_problem(create(api, username=taken), 409, "already_exists")
        assert taken in body["detail"]
    assert_problem(api.client.post("/api/v1/users", json={"username": "x"}, headers=api.headers("admin")),
                   422, "invalid_request")  # fmt: skip
    assert_problem(create(api, is_admin=True), 422, "invalid_request")

    admin = api.headers("admin")
    for path in ("/api/v1/users/nobody/disable", "/api/v1/users/nobody/enable"):
        assert_problem(api.client.post(path, headers=admin), 404, "not_found")
    assert_problem(api.client.post("/api/v1/users/nobody/password", json={"password": "Abcdef123"}, headers=admin),
                   404, "not_found")  # fmt: skip
    assert_problem(api.client.put("/api/v1/users/nobody/roles", json={"roles": ["local_gov"]}, headers=admin),
                   404, "not_found")  # fmt: skip

    for stranger in ("owner", "dongcheng.zhujian", "city.zhuanban"):
        headers = api.headers(stranger)
        assert_problem(api.client.get("/api/v1/users", headers=headers), 403, "permission_denied")
        assert_problem(api.client.get("/api/v1/organisations", headers=headers), 403, "permission_denied")
        assert_problem(api.client.post("/api/v1/users", json=NEW_USER | {"username": "sneaky"}, headers=headers),
                       403, "permission_denied")  # fmt: skip
        assert_problem(api.client.post("/api/v1/users/dongcheng.clerk/disable", headers=headers),
                       403, "permission_denied")  # fmt: skip
        assert_problem(api.client.post("/api/v1/users/owner/password", json={"password": "Stolen1234"},
                                       headers=headers), 403, "permission_denied")  # fmt: skip
        assert_problem(api.client.put(f"/api/v1/users/{stranger}/roles", json={"roles": ["admin"]}, headers=headers),
                       403, "permission_denied")  # fmt: skip
    assert api.client.get("/api/v1/users").status_code == 401
    assert usernames(api) == before
    assert login(api, "dongcheng.clerk", PASSWORD).status_code == 200
    assert login(api, "owner", "demo").status_code == 200


def test_admin_creates_a_department_and_an_account_in_it(api: Api, database_url: str) -> None:
    admin = api.headers("admin")
    events_before = api.get("admin", "/api/v1/audit/verify").json()["events"]
    body = {"code": "linhe_wenlv", "name": "临河县文化和旅游局", "district": "linhe"}
    response = api.client.post("/api/v1/organisations", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json() == {**body, "district_name": "临河县", "users": 0}
    city = api.client.post("/api/v1/organisations", json={"code": "city_wenlv", "name": "市文化广电旅游局"},
                           headers=admin)  # fmt: skip
    assert (city.status_code, city.json()["district"]) == (201, None)

    assert create(api, username="linhe.wenlv", organisation="linhe_wenlv", roles=["checker"]).status_code == 201
    organisations = {o["code"]: o for o in api.get("admin", "/api/v1/organisations").json()}
    assert organisations["linhe_wenlv"]["users"] == 1
    assert login(api, "linhe.wenlv", PASSWORD).status_code == 200
    chain = api.get("admin", "/api/v1/audit/verify").json()
    assert (chain["ok"], chain["events"]) == (True, events_before + 3)  # two departments and one account
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            recorded = session.exec(select(AuditEvent).where(AuditEvent.action == "organisation_created")).all()
    finally:
        engine.dispose()
    assert [(e.actor, e.application_id, e.data["organisation"]) for e in recorded] == [
        ("admin", None, "linhe_wenlv"), ("admin", None, "city_wenlv")]  # fmt: skip

    before = api.get("admin", "/api/v1/organisations").json()
    for bad, field in (
        ({"code": "Linhe WenLv"}, "code"),
        ({"name": " "}, "name"),
        ({"district": "xicheng"}, "district"),
    ):
        refused = api.client.post("/api/v1/organisations", json={**body, "code": "linhe_x", **bad}, headers=admin)
        assert assert_problem(refused, 422, "invalid_data")["context"]["field"] == field
    taken = api.client.post("/api/v1/organisations", json=body, headers=admin)
    assert assert_problem(taken, 409, "already_exists")["context"]["field"] == "code"
    stranger = api.client.post("/api/v1/organisations", json={**body, "code": "sneaky"}, headers=api.headers("owner"))
    assert_problem(stranger, 403, "permission_denied")
    assert api.get("admin", "/api/v1/organisations").json() == before
