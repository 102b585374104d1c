"""Webhooks: the outbox written with each change, the admin API, and verified inbound hooks."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from standardwebhooks import Webhook

from api.db.models import AuditEvent, OutboxEvent
from api.services.webhooks import new_secret
from engine.clock import FixedClock
from tests.factories import Api, assert_problem, context_of, implementation_plan_data, unit_plan_data

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"


def events_of(api: Api) -> list[OutboxEvent]:
    with context_of(api).db.read() as session:
        return list(session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))))


def draft_plan(api: Api) -> dict[str, Any]:
    return api.created("owner", "implementation_plan", implementation_plan_data())


def test_each_change_writes_its_event_in_the_same_transaction(api: Api) -> None:
    plan = api.created("owner", "implementation_plan", implementation_plan_data())
    api.step("owner", plan, "publish_notice")
    assert api.fire("owner", plan, "publish_notice").status_code == 409  # stale version: nothing written
    events = events_of(api)
    assert [e.type for e in events] == ["application.created", "application.transitioned"]
    with context_of(api).db.read() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.seq == events[1].audit_seq)).one()
    payload = events[1].payload
    assert {"id", "type", "source", "time", "data", "specversion"} <= payload.keys()
    assert payload["id"] == events[1].event_id
    assert payload["data"]["audit"]["seq"] == audit.seq
    assert payload["data"]["audit"]["hash"] == audit.hash
    assert payload["data"]["application"]["state"] == "public_notice"
    assert payload["data"]["application"]["version"] == 2


def test_subscription_secret_is_shown_once_and_rotates(api: Api, clock: FixedClock) -> None:
    body = {"url": "https://receiver.example/hooks", "events": ["application.transitioned"]}
    created = api.client.post(SUBSCRIPTIONS, json=body, headers=api.headers("admin"))
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["secret"].startswith("whsec_")
    listed = api.get("admin", SUBSCRIPTIONS).json()
    assert [s["id"] for s in listed] == [subscription["id"]]
    assert "secret" not in listed[0]
    path = f"{SUBSCRIPTIONS}/{subscription['id']}"
    rotated = api.client.post(f"{path}/rotate-secret", headers=api.headers("admin")).json()
    assert rotated["secret"] != subscription["secret"]
    assert datetime.fromisoformat(rotated["previous_secret_expires_at"]) == clock.now() + timedelta(hours=24)
    disabled = api.client.patch(path, json={"enabled": False}, headers=api.headers("admin")).json()
    assert disabled["enabled"] is False


def test_webhook_admin_is_for_admins_only(api: Api) -> None:
    body = {"url": "https://receiver.example/hooks", "events": ["*"]}
    assert api.client.post(SUBSCRIPTIONS, json=body, headers=api.headers("owner")).status_code == 403
    assert api.get("owner", "/api/v1/webhooks/deliveries").status_code == 403
    source = {"name": "erp", "account": "owner"}
    assert api.client.post("/api/v1/hooks/sources", json=source, headers=api.headers("owner")).status_code == 403
    bad = {"url": "https://receiver.example/hooks", "events": ["Not An Event"]}
    assert api.client.post(SUBSCRIPTIONS, json=bad, headers=api.headers("admin")).status_code == 422


def test_a_receiver_url_without_a_host_or_with_a_space_is_refused(api: Api) -> None:
    for url in ("https://", "https://erp example/hooks", "http://erp.example:port/hooks"):
        body = {"url": url, "events": ["*"]}
        response = api.client.post(SUBSCRIPTIONS, json=body, headers=api.headers("admin"))
        assert response.status_code == 422, url
        assert response.json()["context"]["field"] == "url"
        assert "无效的接收地址" in response.json()["detail"]
    assert api.get("admin", SUBSCRIPTIONS).json() == []  # nothing was created
    created = api.client.post(SUBSCRIPTIONS, json={"url": "http://10.1.2.3:8080/hooks", "events": ["*"]},
                              headers=api.headers("admin"))  # fmt: skip
    path = f"{SUBSCRIPTIONS}/{created.json()['id']}"
    moved = api.client.patch(path, json={"url": "https://erp example/hooks"}, headers=api.headers("admin"))
    assert moved.status_code == 422
    assert api.get("admin", SUBSCRIPTIONS).json()[0]["url"] == "http://10.1.2.3:8080/hooks"


# --- inbound ----------------------------------------------------------------------------------


def register_source(api: Api, name: str = "owner-system", account: str = "owner") -> str:
    response = api.client.post("/api/v1/hooks/sources", json={"name": name, "account": account},
                               headers=api.headers("admin"))  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def post_hook(
    api: Api, name: str, secret: str, body: dict[str, Any], at: datetime, webhook_id: str | None = None
) -> Any:
    content = json.dumps(body)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": Webhook(secret).sign(webhook_id, at, content),
               "content-type": "application/json"}  # fmt: skip
    return api.client.post(f"/api/v1/hooks/{name}", content=content, headers=headers)


def test_a_signed_hook_fires_as_the_sources_account(api: Api, clock: FixedClock) -> None:
    secret = register_source(api)
    plan = draft_plan(api)
    body = {"application_id": plan["id"], "transition": "publish_notice", "expected_version": plan["version"]}
    response = post_hook(api, "owner-system", secret, body, clock.now())
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "public_notice"
    audit = api.get("owner", f"/api/v1/applications/{plan['id']}/audit").json()
    assert audit[-1]["actor"] == "owner"


def test_a_replayed_webhook_id_returns_the_first_answer_and_changes_nothing(api: Api, clock: FixedClock) -> None:
    secret = register_source(api)
    plan = draft_plan(api)
    body = {"application_id": plan["id"], "transition": "publish_notice"}  # no expected_version: the version in force
    first = post_hook(api, "owner-system", secret, body, clock.now(), webhook_id="msg_once")
    assert first.status_code == 200, first.text
    events_before = len(events_of(api))
    clock.advance(timedelta(minutes=1))
    again = post_hook(api, "owner-system", secret, body, clock.now(), webhook_id="msg_once")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(events_of(api)) == events_before
    current = api.get("owner", f"/api/v1/applications/{plan['id']}").json()
    assert current["version"] == first.json()["version"]


def test_forged_old_and_unknown_hooks_are_refused(api: Api, clock: FixedClock) -> None:
    secret = register_source(api)
    plan = draft_plan(api)
    body = {"application_id": plan["id"], "transition": "publish_notice", "expected_version": plan["version"]}
    forged = post_hook(api, "owner-system", new_secret(), body, clock.now())
    assert forged.status_code == 401
    assert forged.json()["code"] == "webhook_signature_invalid"
    too_old = post_hook(api, "owner-system", secret, body, clock.now() - timedelta(minutes=6))
    assert too_old.status_code == 401
    too_new = post_hook(api, "owner-system", secret, body, clock.now() + timedelta(minutes=6))
    assert too_new.status_code == 401
    unknown = post_hook(api, "nobody", secret, body, clock.now())
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_hook_source"
    unsigned = api.client.post("/api/v1/hooks/owner-system", json=body)
    assert unsigned.status_code == 401
    assert api.get("owner", f"/api/v1/applications/{plan['id']}").json()["version"] == plan["version"]
    assert post_hook(api, "owner-system", secret, body, clock.now() - timedelta(minutes=4)).status_code == 200


def test_hooks_follow_the_same_permission_and_version_rules(api: Api, clock: FixedClock) -> None:
    office_secret = register_source(api, "office-system", "dongcheng.zhujian")
    owner_secret = register_source(api, "owner-system", "owner")
    plan = draft_plan(api)
    body = {"application_id": plan["id"], "transition": "publish_notice", "expected_version": plan["version"]}
    assert post_hook(api, "office-system", office_secret, body, clock.now()).status_code == 403
    stale = {**body, "expected_version": plan["version"] + 1}
    assert post_hook(api, "owner-system", owner_secret, stale, clock.now()).status_code == 409
    malformed = post_hook(api, "owner-system", owner_secret, {"transition": "publish_notice"}, clock.now())
    assert malformed.status_code == 422
    assert post_hook(api, "owner-system", owner_secret, body, clock.now()).status_code == 200


def test_source_names_and_accounts_are_checked(api: Api) -> None:
    register_source(api, "erp")
    again = api.client.post("/api/v1/hooks/sources", json={"name": "erp", "account": "owner"},
                            headers=api.headers("admin"))  # fmt: skip
    assert again.status_code == 422
    ghost = api.client.post("/api/v1/hooks/sources", json={"name": "ghost", "account": "nobody"},
                            headers=api.headers("admin"))  # fmt: skip
    assert ghost.status_code == 422
    listed = api.get("admin", "/api/v1/hooks/sources").json()
    assert [(s["name"], s["account"]) for s in listed] == [("erp", "owner")]
    assert "secret" not in listed[0]


def test_a_replayed_webhook_id_gets_the_first_refusal_even_when_it_would_now_succeed(
    api: Api, clock: FixedClock
) -> None:
    secret = register_source(api, "plan-system", "dongcheng.zhujian")
    plan = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data())
    body = {"application_id": plan["id"], "transition": "publish_notice", "expected_version": plan["version"] + 1}
    first = post_hook(api, "plan-system", secret, body, clock.now(), webhook_id="msg_early")
    assert_problem(first, 409, "version_conflict")

    files = {"file": ("成果.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}  # a declared material: version + 1
    uploaded = api.client.post(f"/api/v1/applications/{plan['id']}/materials", data={"name": "plan_document"},
                               files=files, headers=api.headers("dongcheng.zhujian"))  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    version = api.get("dongcheng.zhujian", f"/api/v1/applications/{plan['id']}").json()["version"]
    assert version == body["expected_version"]  # the same message would now succeed if it ran again

    clock.advance(timedelta(minutes=1))
    again = post_hook(api, "plan-system", secret, body, clock.now(), webhook_id="msg_early")
    assert (again.status_code, again.json()["code"], again.json()["detail"]) == (
        409, "version_conflict", first.json()["detail"]
    )  # fmt: skip
    current = api.get("dongcheng.zhujian", f"/api/v1/applications/{plan['id']}").json()
    assert (current["state"], current["version"]) == ("draft", version)

    fresh = post_hook(api, "plan-system", secret, body, clock.now(), webhook_id="msg_next")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["state"] == "public_notice"
