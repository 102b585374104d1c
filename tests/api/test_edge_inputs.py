"""Inputs at the edges get a clear 4xx, never a 500, and change nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from standardwebhooks import Webhook

from engine.clock import FixedClock
from tests.factories import Api, assert_problem, implementation_plan_data


def test_ids_beyond_bigint_are_refused_not_crashed(api: Api) -> None:
    huge = 2**63
    assert api.get("owner", f"/api/v1/applications/{huge}").status_code == 422
    assert api.get("owner", f"/api/v1/applications/{huge}/audit").status_code == 422
    lifted = api.client.post(f"/api/v1/credit-records/{huge}/lift", json={"reason": "x"}, headers=api.headers("admin"))
    assert lifted.status_code == 422
    deliveries = api.get("admin", f"/api/v1/webhooks/deliveries?application_id={2**64}&subscription_id={huge}")
    assert_problem(deliveries, 422, "invalid_request")


def test_an_inbound_hook_naming_a_huge_application_is_refused(api: Api, clock: FixedClock) -> None:
    response = api.client.post("/api/v1/hooks/sources", json={"name": "big-ids", "account": "owner"},
                               headers=api.headers("admin"))  # fmt: skip
    assert response.status_code == 201, response.text
    secret = response.json()["secret"]
    for body in ({"application_id": 2**63, "transition": "submit"},
                 {"application_id": 1, "transition": "submit", "expected_version": 2**70}):  # fmt: skip
        content, webhook_id = json.dumps(body), f"msg_{uuid.uuid4().hex}"
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(clock.now().timestamp())),
                   "webhook-signature": Webhook(secret).sign(webhook_id, clock.now(), content),
                   "content-type": "application/json"}  # fmt: skip
        refused = api.client.post("/api/v1/hooks/big-ids", content=content, headers=headers)
        assert_problem(refused, 422, "invalid_data")


def test_a_supplement_cannot_move_the_application_to_another_district(api: Api) -> None:
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    application = api.step("owner", application, "publish_notice")
    api.client.app.state.context.clock.advance(timedelta(days=11))  # type: ignore[attr-defined]
    application = api.step("owner", application, "submit")
    application = api.step("dongcheng.zhujian", application, "request_supplement", data={"items": ["补充"]})
    moved = api.fire("owner", application, "supplement", data={"district": "linhe"})
    assert_problem(moved, 422, "invalid_data")
    corrected = api.step("owner", application, "supplement", data={"operation_plan": "补充了收益测算"})
    assert corrected["data"]["operation_plan"] == "补充了收益测算" and corrected["data"]["district"] == "dongcheng"
