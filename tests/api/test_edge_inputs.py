"""Inputs at the edges get a clear 4xx, never a 500, and change nothing."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import Api, assert_problem, implementation_plan_data


def test_ids_beyond_bigint_are_refused_not_crashed(api: Api) -> None:
    huge = 2**63
    assert api.get("owner", f"/api/v1/applications/{huge}").status_code == 422
    assert api.get("owner", f"/api/v1/applications/{huge}/audit").status_code == 422
    lifted = api.client.post(f"/api/v1/credit-records/{huge}/lift", json={"reason": "x"}, headers=api.headers("admin"))
    assert lifted.status_code == 422


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
