"""绿色通道 (workflow D) and the 告知承诺制 fast path (E) over the API, on both databases."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from api.db.models import OutboxEvent
from engine.clock import FixedClock
from tests.factories import COMMITMENT, Api, allowed, assert_problem, at, audit, project_approval_data


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))  # 2026-06-02 09:00 Shanghai (S07 accepts then)


project = project_approval_data


def in_joint_review(api: Api, username: str = "owner", **overrides: Any) -> dict[str, Any]:
    application = api.created(username, "project_approval", project(**overrides))
    application = api.step(username, application, "submit")
    return api.step("city.zhujian", application, "accept")


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


def test_s08_land_change_refused_in_joint_review(api: Api, clock: FixedClock) -> None:
    at(clock, "2026-06-03")
    application = api.step("owner2", api.created("owner2", "project_approval", project(changes_land=True,
                           existing_land_docs=None)), "submit")  # fmt: skip
    at(clock, "2026-06-04")
    application = api.step("city.zhujian", application, "accept")
    assert application["clock"]["due"] == "2026-08-07"
    assert "approve_land" in allowed(api, "city.zrzy", application)
    at(clock, "2026-06-09")
    application = api.step("city.fagai", application, "approve_initiation", comment="符合产业政策，同意立项",
                           data={"initiation_doc_no": "市发改投资〔2026〕18号"})  # fmt: skip
    at(clock, "2026-06-18")
    without = api.fire("city.zrzy", application, "reject_branch")
    assert without.status_code == 422 and without.json()["context"]["field"] == "comment"
    reason = "用地性质变更不符合控制性详细规划"
    on_land = {"joint_branch": "land"}
    not_theirs = api.fire("city.fagai", application, "reject_branch", comment=reason, data=on_land)
    assert not_theirs.status_code == 403 and "用地审查" in not_theirs.json()["detail"]
    assert api.get("admin", f"/api/v1/applications/{application['id']}").json()["version"] == application["version"]
    application = api.step("city.zrzy", application, "reject_branch", comment=reason, data=on_land)
    assert (application["state"], application["outcome"]) == ("rejected", "rejected")
    # every reviewer's reasons go back together, each with its department; the 立项 approval has lapsed
    opinions = [(o["department"], o["branch"], o["decision"], o["opinion"], o["lapsed"])
                for o in application["joint_opinions"]]  # fmt: skip
    assert opinions == [
        ("市发展和改革委员会", "initiation", "approved", "符合产业政策，同意立项", True),
        ("市自然资源和规划局", "land", "rejected", reason, False),
    ]
    assert application["joint_opinions"][0]["details"] == {"initiation_doc_no": "市发改投资〔2026〕18号"}
    entry = audit(api, application)[-1]
    assert (entry["action"], entry["actor"]) == ("reject_branch", "city.zrzy")
    assert entry["data"]["joint_opinions"] == application["joint_opinions"]
    assert "approve_initiation" in [e["action"] for e in audit(api, application)]  # stays in the audit
    assert api.get("owner2", f"/api/v1/applications/{application['id']}").json()["joint_opinions"] == opinions_of(
        application
    )
    for username in ("owner2", "city.zhujian", "city.fagai", "city.zrzy"):
        assert allowed(api, username, application) == set()
    context = api.client.app.state.context  # type: ignore[attr-defined]
    with context.db.read() as session:
        sent = session.exec(select(OutboxEvent).where(OutboxEvent.application_id == application["id"])).all()
    assert [e.type for e in sent][-1] == "application.transitioned"
    assert sent[-1].payload["data"]["application"]["state"] == "rejected"


def opinions_of(application: dict[str, Any]) -> list[dict[str, Any]]:
    return list(application["joint_opinions"])


def test_a_joint_supplement_request_goes_back_with_every_reviewers_reasons(api: Api) -> None:
    application = in_joint_review(api, changes_land=True, existing_land_docs=None)
    application = api.step("city.fagai", application, "approve_initiation", comment="同意立项",
                           data={"initiation_doc_no": "发改备〔2026〕5号"})  # fmt: skip
    application = api.step("city.zrzy", application, "request_supplement", comment="用地、规划材料不全",
                           data={"items": ["用地: 缺宗地图", "规划: 缺总平面图"]})  # fmt: skip
    assert application["state"] == "joint_review_supplement"
    assert allowed(api, "owner", application) == {"supplement", "withdraw"}
    gathered = [(o["department"], o["branch_title"], o["decision_title"], o["opinion"])
                for o in application["joint_opinions"]]  # fmt: skip
    assert gathered == [
        ("市发展和改革委员会", "立项审查", "同意", "同意立项"),
        ("市自然资源和规划局", "用地审查", "要求补正", "用地、规划材料不全"),
        ("市自然资源和规划局", "规划许可审查", "要求补正", "用地、规划材料不全"),
    ]
    assert application["joint_opinions"][1]["details"]["items"] == ["用地: 缺宗地图", "规划: 缺总平面图"]
    entry = audit(api, application)[-1]
    assert entry["action"] == "request_supplement" and entry["data"]["joint_opinions"] == application["joint_opinions"]
    # after the 补正 the branches asking for it are open again; the 立项 approval stands
    application = api.step("owner", application, "supplement")
    assert {"approve_land", "approve_planning"} <= allowed(api, "city.zrzy", application)
    assert "approve_initiation" not in allowed(api, "city.fagai", application)
    application = api.step("city.zrzy", application, "approve_land", data={"land_doc_no": "地字 7 号"})
    assert [o["decision"] for o in application["joint_opinions"] if o["branch"] == "land"] == ["approved"]
    # a 补正 on a branch already decided is refused; on the open one it concerns that branch alone
    decided = api.fire("city.zrzy", application, "request_supplement", comment="x",
                       data={"items": ["x"], "joint_branch": "land", "repeat_reason": "新交宗地图有误"})  # fmt: skip
    assert decided.status_code == 422 and "已办结" in decided.json()["detail"]
    application = api.step("city.zrzy", application, "request_supplement", comment="总平面图比例不符",
                           data={"items": ["规划: 总平面图比例不符"], "joint_branch": "planning",
                                 "repeat_reason": "新提交的总平面图有误"})  # fmt: skip
    assert [(o["branch"], o["decision"]) for o in application["joint_opinions"]] == [
        ("initiation", "approved"),
        ("land", "approved"),
        ("planning", "supplement_requested"),
    ]


def test_s09_commitment_permit_at_once_and_check_passes(api: Api, clock: FixedClock) -> None:
    """S09 on the simple low-risk profile: 2 working days of joint review, the whole process within 10."""
    at(clock, "2026-07-01")
    application = api.created("owner2", "project_approval", project(low_risk=True, commitment=True))
    application = api.step("owner2", application, "submit")
    at(clock, "2026-07-02")
    application = api.step("city.zhujian", application, "accept")
    assert (application["clock"]["limit"], application["clock"]["due"]) == (2, "2026-07-06")
    assert (application["process"]["limit"], application["process"]["due"]) == (10, "2026-07-16")
    assert audit(api, application)[-1]["data"]["profile"] == "simple_low_risk"
    at(clock, "2026-07-03")
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    at(clock, "2026-07-06")
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "Y"})
    assert application["state"] == "commitment_signing"
    incomplete = api.fire("owner2", application, "sign_commitment", data={**COMMITMENT, "liable_if_false": False})
    assert incomplete.status_code == 422
    application = api.step("owner2", application, "sign_commitment", data=COMMITMENT)
    application = api.step("city.zhujian", application, "grant_on_commitment", data={"permit_no": "SG-C-1"})
    assert (application["state"], application["outcome"]) == ("post_check", "approved")
    assert (application["clock"]["limit"], application["clock"]["due"]) == (30, "2026-08-17")  # 事后核查 window
    assert (application["process"]["used"], application["process"]["remaining"]) == (2, 8)  # within 10
    entries = audit(api, application)
    signed = next(e for e in entries if e["action"] == "sign_commitment")
    assert signed["data"]["input"]["commitment_text"] == COMMITMENT["commitment_text"]  # verbatim
    canonical = json.dumps(signed["data"]["input"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert signed["data"]["input_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert "drawing_review" not in [e["to_state"] for e in entries]  # no 施工图审查
    at(clock, "2026-08-05")
    application = api.step("city.zhujian", application, "pass_check")
    assert (application["state"], application["outcome"]) == ("check_passed", "approved")


def test_simple_low_risk_without_commitment_has_three_days_per_permit_stage(api: Api) -> None:
    application = in_joint_review(api, low_risk=True)
    assert application["clock"]["limit"] == 2
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "Y"})
    assert (application["state"], application["clock"]["limit"]) == ("drawing_review", 3)
    application = api.step("city.zhujian", application, "pass_drawing_review", data={"drawing_review_cert": "SC"})
    assert (application["state"], application["clock"]["limit"]) == ("permit_review", 3)
    standard = in_joint_review(api)
    assert (standard["clock"]["limit"], standard["process"]["limit"]) == (45, 120)
    assert "profile" not in audit(api, standard)[-1]["data"]


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
    assert records[0]["bar_until"] == "2027-06-01" and records[0]["bar_in_force"] is True  # 12 months, inclusive
    assert api.get("owner", "/api/v1/credit-records").status_code == 403
    assert [e["action"] for e in audit(api, application)][-2:] == ["revoke", "credit_record_written"]

    # a new fast-path request by the barred organisation is refused at submission with the reason and end date
    again = api.created("owner", "project_approval", project(low_risk=True, commitment=True))
    refused = api.fire("owner", again, "submit")
    assert refused.status_code == 422 and "2027-06-01" in refused.json()["detail"]
    assert api.action("owner", again, "submit")["reason"] == refused.json()["detail"]
    # ... and it may take the normal route; another organisation is not barred
    assert api.step("owner", again, "submit", data={"commitment": False})["state"] == "submitted"
    other = _permitted_on_commitment(api, "owner2")
    assert other["state"] == "post_check"

    # an admin lifts the bar with a reason (信用修复), audited
    assert api.client.post(f"/api/v1/credit-records/{records[0]['id']}/lift", json={"reason": "信用修复"},
                           headers=api.headers("city.zhujian")).status_code == 403  # fmt: skip
    lifted = api.client.post(f"/api/v1/credit-records/{records[0]['id']}/lift", json={"reason": "已完成信用修复"},
                             headers=api.headers("admin"))  # fmt: skip
    assert lifted.status_code == 200 and lifted.json()["bar_in_force"] is False
    last = audit(api, application)[-1]
    assert last["action"] == "credit_bar_lifted"
    context = api.client.app.state.context  # type: ignore[attr-defined]
    with context.db.read() as session:
        query = select(OutboxEvent).where(OutboxEvent.application_id == application["id"])
        events = [(e.type, e.audit_seq) for e in session.exec(query.order_by(col(OutboxEvent.id)))]
    assert [kind for kind, _ in events][-2:] == ["credit_record.written", "credit_record.lifted"]
    assert events[-1][1] == last["seq"]  # the event carries the lifting's audit entry
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True


def test_fraud_bars_for_three_years(api: Api) -> None:
    application = _permitted_on_commitment(api)
    api.step("city.zhujian", application, "revoke", comment="伪造材料", data={"obtained_by_fraud": True})
    records = api.get("admin", "/api/v1/credit-records").json()
    assert records[0]["bar_until"] == "2029-06-01" and records[0]["obtained_by_fraud"] is True


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
    assert_problem(api.fire("owner", eligible, "withdraw_commitment"), 422, "invalid_data")  # the reason is required
    withdrawn = api.step("owner", eligible, "withdraw_commitment", comment="改走一般程序，先做施工图审查")
    assert (withdrawn["state"], withdrawn["outcome"]) == ("drawing_review", None)
    entry = audit(api, withdrawn)[-1]
    assert (entry["action"], entry["comment"]) == ("withdraw_commitment", "改走一般程序，先做施工图审查")


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


def test_a_second_supplement_notice_needs_a_reason_and_the_audit_keeps_both(api: Api) -> None:
    """一次性告知 (PROCESS.md §4.3, 行政许可法 §32) at acceptance."""
    application = api.step("owner", api.created("owner", "project_approval", project()), "submit")
    first_items = ["缺少实施方案批复文件", "用地文件 LC-0123 复印件不清晰"]
    application = api.step("city.zhujian", application, "request_supplement", data={"items": first_items})
    assert application["data"]["supplement_notices"][0]["items"] == first_items
    application = api.step("owner", application, "supplement")
    before = audit(api, application)

    refused = api.fire("city.zhujian", application, "request_supplement", data={"items": ["用地文件复印件仍不清晰"]})
    assert refused.status_code == 422 and refused.json()["context"]["field"] == "repeat_reason"
    assert "已一次性告知补正" in refused.json()["detail"]
    assert audit(api, application) == before  # nothing changed
    current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert (current["state"], current["version"]) == ("submitted", application["version"])

    reason = "首次告知的用地文件复印件仍不清晰"
    application = api.step("city.zhujian", application, "request_supplement",
                           data={"items": ["用地文件 LC-0123 复印件不清晰"], "repeat_reason": reason})  # fmt: skip
    notices = [e["data"]["notice"] for e in audit(api, application) if e["action"] == "request_supplement"]
    assert [(n["number"], n["items"], n["reason"]) for n in notices] == [
        (1, first_items, None),
        (2, ["用地文件 LC-0123 复印件不清晰"], reason),
    ]
    assert notices[1]["repeated_items"] == ["用地文件 LC-0123 复印件不清晰"] and notices[1]["new_items"] == []
    # accepting ends the acceptance step: the first notice in joint review needs no reason
    application = api.step("city.zhujian", api.step("owner", application, "supplement"), "accept")
    assert "supplement_notices" not in application["data"]
    application = api.step("city.zrzy", application, "request_supplement", data={"items": ["规划: 缺总平面图"]})
    assert application["state"] == "joint_review_supplement"
