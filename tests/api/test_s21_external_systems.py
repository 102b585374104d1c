"""SCENARIOS S21: external systems over webhooks — a drawing-review system fires a transition as its
own service account; forged, stale and replayed calls change nothing; an account without the role
is refused; S10's revocation reaches the credit platform's subscription after two failed tries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from engine.clock import FixedClock
from tests.api.test_project_approval import _permitted_on_commitment, audit, in_joint_review
from tests.api.test_webhook_delivery import deliveries, signed_by, subscribe, worker_for
from tests.api.test_webhooks import post_hook, register_source
from tests.factories import Api, assert_problem


def drawing_review_system(api: Api) -> str:
    """The system's own service account (role external_system), then its registered source."""
    account = {"username": "drawing.system", "display_name": "施工图审查系统", "organisation": "city_zhujian",
               "roles": ["external_system"], "password": "Drawing2026x"}  # fmt: skip
    created = api.client.post("/api/v1/users", json=account, headers=api.headers("admin"))
    assert created.status_code == 201, created.text
    return register_source(api, "drawing_review", "drawing.system")


def in_drawing_review(api: Api) -> dict[str, Any]:
    application = in_joint_review(api)
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "发改备 5 号"})
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "建字 001 号"})
    assert application["state"] == "drawing_review"
    return application


def test_s21_the_drawing_review_system_fires_as_its_own_account(api: Api, clock: FixedClock) -> None:
    secret = drawing_review_system(api)
    application = in_drawing_review(api)
    body = {"application_id": application["id"], "transition": "pass_drawing_review",
            "expected_version": application["version"], "data": {"drawing_review_cert": "SC-2026-07"}}  # fmt: skip

    forged = post_hook(api, "drawing_review", secret[:-2] + "xx", body, clock.now())
    assert_problem(forged, 401, "webhook_signature_invalid")
    stale = post_hook(api, "drawing_review", secret, body, clock.now() - timedelta(minutes=6))
    assert_problem(stale, 401, "webhook_signature_invalid")
    assert api.get("owner", f"/api/v1/applications/{application['id']}").json()["version"] == application["version"]

    passed = post_hook(api, "drawing_review", secret, body, clock.now(), webhook_id="msg_drawing_1")
    assert passed.status_code == 200, passed.text
    assert passed.json()["state"] == "permit_review"
    entry = audit(api, application)[-1]
    assert (entry["action"], entry["actor"]) == ("pass_drawing_review", "drawing.system")
    assert entry["data"]["idempotency_key"] == "hook:drawing_review:msg_drawing_1"  # the webhook-id, on record
    entries = len(audit(api, application))
    replayed = post_hook(api, "drawing_review", secret, body, clock.now(), webhook_id="msg_drawing_1")
    assert replayed.json() == passed.json()
    assert len(audit(api, application)) == entries  # nothing fired twice

    permit = {"application_id": application["id"], "transition": "approve_permit", "data": {"permit_no": "SG-9"}}
    refused = post_hook(api, "drawing_review", secret, permit, clock.now())
    assert_problem(refused, 403, "permission_denied")
    assert api.get("owner", f"/api/v1/applications/{application['id']}").json()["state"] == "permit_review"


def test_s21_the_revocation_reaches_the_credit_platform_on_the_third_try(api: Api, clock: FixedClock) -> None:
    subscription = subscribe(api, "https://credit.example/hooks", events=["application.transitioned"])
    application = _permitted_on_commitment(api)
    answers, received = iter([500, 502, 200]), []

    def credit_platform(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers)) if '"revoke"' in request.content.decode() else httpx.Response(200)

    worker = worker_for(api, credit_platform)
    worker.drain()  # the grant's events: delivered at once
    api.step("city.zhujian", application, "revoke", comment="现场核查发现擅自改动承重墙")
    for _ in range(3):
        worker.run_once()
        clock.advance(timedelta(minutes=5))
    logs = [[attempt["status_code"] for attempt in d["log"]] for d in deliveries(api) if d["status"] == "delivered"]
    assert logs.count([500, 502, 200]) == 1, logs  # the revocation: three attempts listed
    attempts = [r for r in received if '"revoke"' in r.content.decode()]
    assert len(attempts) == 3 and len({r.headers["webhook-id"] for r in attempts}) == 1  # one message, retried
    assert all(signed_by(subscription["secret"], r) for r in attempts)
