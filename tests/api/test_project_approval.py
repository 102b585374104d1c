"""绿色通道 (workflow D) and the 告知承诺制 fast path (E) over the API, on both databases."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FixedClock
from tests.factories import Api

COMMITMENT = {
    "commitment_text": "本单位承诺：项目符合审批条件，所提交材料真实有效，接受事后核查，承诺不实愿承担法律责任。",
    "meets_conditions": True,
    "materials_true": True,
    "accepts_verification": True,
    "liable_if_false": True,
}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))  # 2026-06-02 09:00 Shanghai (S07 accepts then)


def project(**overrides: Any) -> dict[str, Any]:
    data = {
        "district": "dongcheng",
        "implementation_plan_id": "P-2026-001",
        "changes_land": False,
        "existing_land_docs": ["LC-0123"],
        "changes_structure": False,
        "low_risk": False,
        "commitment": False,
    }
    return {**data, **overrides}


def in_joint_review(api: Api, username: str = "owner", **overrides: Any) -> dict[str, Any]:
    application = api.created(username, "project_approval", project(**overrides))
    application = api.step(username, application, "submit")
    return api.step("city.zhujian", application, "accept")


def audit(api: Api, application: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.get("admin", f"/api/v1/applications/{application['id']}/audit").json())


def allowed(api: Api, username: str, application: dict[str, Any]) -> set[str]:
    current = api.get(username, f"/api/v1/applications/{application['id']}").json()
    return {a["transition"] for a in current["available_actions"] if a["allowed"]}


def test_s07_land_reuse_and_parallel_sign_off(api: Api) -> None:
    application = in_joint_review(api)
    assert application["state"] == "joint_review" and application["clock"]["limit"] == 45
    assert application["clock"]["due"] == "2026-08-05"
    accept_entry = audit(api, application)[-1]
    assert accept_entry["data"]["joint"]["land"] == {
        "status": "skipped",
        "reason": "不涉及土地权属变化和用地性质变更，沿用已有用地手续作为土地证明文件",
    }
    assert accept_entry["data"]["joint"]["initiation"]["status"] == "pending"
    # each reviewer sees its own branch; land is skipped for everyone
    assert {"approve_initiation", "reject_branch"} <= allowed(api, "city.fagai", application)
    assert "approve_planning" in allowed(api, "city.zrzy", application)
    assert "approve_land" not in allowed(api, "city.zrzy", application)
    assert "approve_initiation" not in allowed(api, "city.zrzy", application)

    application = api.step(
        "city.fagai", application, "approve_initiation", data={"initiation_doc_no": "发改备〔2026〕5号"}
    )
    assert application["state"] == "joint_review"
    twice = api.fire("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "again"})
    assert twice.status_code == 422 and "已办结" in twice.json()["detail"]
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "建字第 001 号"})
    # the last branch moves it on at once: standard route, 施工图审查
    assert application["state"] == "drawing_review"
    actions = [(e["action"], e["actor"]) for e in audit(api, application)]
    assert actions[-3:] == [("approve_initiation", "city.fagai"), ("approve_planning", "city.zrzy"),
                            ("route_permit", "system")]  # fmt: skip
    application = api.step("city.zhujian", application, "pass_drawing_review", data={"drawing_review_cert": "SC-1"})
    application = api.step("city.zhujian", application, "approve_permit", data={"permit_no": "SG-2026-001"})
    assert (application["state"], application["outcome"]) == ("permitted", "approved")


def test_land_reuse_needs_the_existing_documents(api: Api) -> None:
    application = api.created("owner", "project_approval", project(existing_land_docs=None))
    refused = api.fire("owner", application, "submit")
    assert refused.status_code == 422 and "existing_land_docs" in refused.json()["detail"]


def test_s08_land_change_refused_in_joint_review(api: Api) -> None:
    application = in_joint_review(api, changes_land=True, existing_land_docs=None)
    assert "approve_land" in allowed(api, "city.zrzy", application)
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    without = api.fire("city.zrzy", application, "reject_branch")
    assert without.status_code == 422
    application = api.step("city.zrzy", application, "reject_branch", comment="用地性质变更不符合国土空间规划")
    assert (application["state"], application["outcome"]) == ("rejected", "rejected")


def test_s09_commitment_permit_at_once_and_check_passes(api: Api) -> None:
    application = in_joint_review(api, low_risk=True, commitment=True)
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "Y"})
    assert application["state"] == "commitment_signing"
    incomplete = api.fire("owner", application, "sign_commitment", data={**COMMITMENT, "liable_if_false": False})
    assert incomplete.status_code == 422
    application = api.step("owner", application, "sign_commitment", data=COMMITMENT)
    application = api.step("city.zhujian", application, "grant_on_commitment", data={"permit_no": "SG-C-1"})
    assert (application["state"], application["outcome"]) == ("post_check", "approved")
    assert application["clock"]["limit"] == 30  # 事后核查 window
    entries = audit(api, application)
    signed = next(e for e in entries if e["action"] == "sign_commitment")
    assert signed["data"]["input"]["commitment_text"] == COMMITMENT["commitment_text"]  # verbatim
    canonical = json.dumps(signed["data"]["input"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert signed["data"]["input_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert "drawing_review" not in [e["to_state"] for e in entries]  # no 施工图审查
    application = api.step("city.zhujian", application, "pass_check")
    assert (application["state"], application["outcome"]) == ("check_passed", "approved")


def _permitted_on_commitment(api: Api, username: str = "owner") -> dict[str, Any]:
    application = in_joint_review(api, username, low_risk=True, commitment=True)
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "Y"})
    application = api.step(username, application, "sign_commitment", data=COMMITMENT)
    return api.step("city.zhujian", application, "grant_on_commitment", data={"permit_no": "SG-C-2"})


def test_s10_false_commitment_revoked_credit_record_and_bar(api: Api) -> None:
    application = _permitted_on_commitment(api)
    assert api.fire("city.zhujian", application, "revoke").status_code == 422  # a reason is required
    application = api.step("city.zhujian", application, "revoke", comment="现场核查发现擅自改动承重墙")
    assert (application["state"], application["outcome"]) == ("revoked", "revoked")
    records = api.get("city.zhujian", "/api/v1/credit-records").json()
    assert len(records) == 1 and records[0]["organisation"] == "demo_renewal_co"
    assert records[0]["bar_until"] == "2027-06-02" and records[0]["bar_in_force"] is True  # 12 months
    assert api.get("owner", "/api/v1/credit-records").status_code == 403
    assert [e["action"] for e in audit(api, application)][-2:] == ["revoke", "credit_record_written"]

    # a new fast-path request by the barred organisation is refused with the reason and the end date
    again = in_joint_review(api, low_risk=True, commitment=True)
    again = api.step("city.fagai", again, "approve_initiation", data={"initiation_doc_no": "X"})
    again = api.step("city.zrzy", again, "approve_planning", data={"planning_permit_no": "Y"})
    refused = api.fire("owner", again, "sign_commitment", data=COMMITMENT)
    assert refused.status_code == 422 and "2027-06-02" in refused.json()["detail"]
    # ... and it may take the normal route; another organisation is not barred
    assert api.step("owner", again, "withdraw_commitment")["state"] == "drawing_review"
    other = _permitted_on_commitment(api, "owner2")
    assert other["state"] == "post_check"

    # an admin lifts the bar with a reason (信用修复), audited
    assert api.client.post(f"/api/v1/credit-records/{records[0]['id']}/lift", json={"reason": "信用修复"},
                           headers=api.headers("city.zhujian")).status_code == 403  # fmt: skip
    lifted = api.client.post(f"/api/v1/credit-records/{records[0]['id']}/lift", json={"reason": "已完成信用修复"},
                             headers=api.headers("admin"))  # fmt: skip
    assert lifted.status_code == 200 and lifted.json()["bar_in_force"] is False
    assert audit(api, application)[-1]["action"] == "credit_bar_lifted"
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True


def test_fraud_bars_for_three_years(api: Api) -> None:
    application = _permitted_on_commitment(api)
    api.step("city.zhujian", application, "revoke", comment="伪造材料", data={"obtained_by_fraud": True})
    records = api.get("admin", "/api/v1/credit-records").json()
    assert records[0]["bar_until"] == "2029-06-02" and records[0]["obtained_by_fraud"] is True


def test_rectification_then_recheck(api: Api) -> None:
    application = _permitted_on_commitment(api)
    application = api.step("city.zhujian", application, "order_rectification", comment="消防通道未留足",
                           data={"rectify_by": "2026-06-20", "rectification_items": ["恢复消防通道宽度"]})  # fmt: skip
    assert (application["state"], application["outcome"]) == ("rectifying", "approved")
    application = api.step("owner", application, "submit_rectification")
    assert application["state"] == "post_check"


def test_ineligible_projects_take_the_normal_route(api: Api) -> None:
    """S12 and eligibility: a structural change never reaches the commitment step."""
    application = in_joint_review(api, low_risk=True, commitment=True, changes_structure=True)
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "Y"})
    assert application["state"] == "drawing_review"
    eligible = in_joint_review(api, low_risk=True, commitment=True)
    eligible = api.step("city.fagai", eligible, "approve_initiation", data={"initiation_doc_no": "X"})
    eligible = api.step("city.zrzy", eligible, "approve_planning", data={"planning_permit_no": "Y"})
    assert api.step("owner", eligible, "withdraw_commitment")["state"] == "drawing_review"


def test_a_branch_supplement_pauses_the_joint_clock_and_keeps_decisions(api: Api, clock: FixedClock) -> None:
    application = in_joint_review(api, changes_land=True, existing_land_docs=None)
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    clock.advance(timedelta(days=7))  # 06-09: 5 working days used
    application = api.step("city.zrzy", application, "request_supplement", data={"items": ["用地: 缺宗地图"]})
    assert application["state"] == "joint_review_supplement" and application["clock"]["paused"]
    assert application["clock"]["used"] == 5
    clock.advance(timedelta(days=7))
    application = api.step("owner", application, "supplement")
    assert application["state"] == "joint_review" and not application["clock"]["paused"]
    assert application["clock"]["remaining"] == 40
    # 立项 stays decided; 用地 and 规划 are still open
    assert "approve_initiation" not in allowed(api, "city.fagai", application)
    assert {"approve_land", "approve_planning"} <= allowed(api, "city.zrzy", application)
