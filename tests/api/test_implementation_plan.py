"""项目实施方案 (workflow C) over the HTTP API: local and city routes, S05, S06, S14, S15."""

from __future__ import annotations

from typing import Any

from engine.clock import FixedClock
from tests.factories import Api, allowed, assert_problem, audit, implementation_plan_data, trail, wait_out_notice

CITY_ROUTE_REASON = "市级/跨区域/重大项目由市专班受理审核"


def snapshot(api: Api, application: dict[str, Any]) -> tuple[str, int, str | None, int, int]:
    view = api.get("admin", f"/api/v1/applications/{application['id']}").json()
    events = api.get("admin", "/api/v1/audit/verify").json()["events"]
    return view["state"], view["version"], view["outcome"], len(audit(api, application)), events


def submitted(api: Api, clock: FixedClock, owner: str, **overrides: Any) -> dict[str, Any]:
    application = api.created(owner, "implementation_plan", implementation_plan_data(**overrides))
    application = api.step(owner, application, "publish_notice")
    wait_out_notice(clock, "implementation_plan")
    application = api.step(owner, application, "submit")
    assert application["state"] == "submitted"
    return application


def test_local_route_approved_and_filed(api: Api, clock: FixedClock) -> None:
    """S04 without the clock: 属地受理 → 属地审查 → 属地政府批准 → 报市专班备案 → filed."""
    plan = submitted(api, clock, "owner")
    assert allowed(api, "city.zhuanban", plan) == set()
    assert allowed(api, "linhe.zhujian", plan) == set()
    assert_problem(api.fire("linhe.zhujian", plan, "accept"), 403, "permission_denied")
    assert_problem(api.fire("city.zhuanban", plan, "accept"), 403, "permission_denied")
    assert {"accept", "request_supplement", "refuse_acceptance"} <= allowed(api, "dongcheng.zhujian", plan)

    plan = api.step("dongcheng.zhujian", plan, "accept")
    assert plan["state"] == "local_review"
    assert "escalate_to_city" in allowed(api, "city.zhuanban", plan)
    plan = api.step("dongcheng.zhujian", plan, "pass_review", data={"review_opinion": "材料齐全，同意"})
    assert plan["state"] == "local_gov_approval"
    assert allowed(api, "city.gov", plan) == set()
    assert allowed(api, "dongcheng.zhujian", plan) == set()
    assert {"approve", "return", "reject"} <= allowed(api, "dongcheng.gov", plan)
    plan = api.step("dongcheng.gov", plan, "approve", data={"approval_doc_no": "东政字〔2026〕8号"})
    assert (plan["state"], plan["outcome"]) == ("awaiting_filing", "approved")
    assert allowed(api, "owner", plan) == {"file"}

    plan = api.step("owner", plan, "file")
    assert (plan["state"], plan["outcome"]) == ("filing_review", "approved")
    assert {"acknowledge_filing", "return_filing"} <= allowed(api, "city.zhuanban", plan)
    plan = api.step("city.zhuanban", plan, "acknowledge_filing", data={"filing_no": "示更新备〔2026〕11号"})
    assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("filed", "filed", [])

    assert trail(api, plan) == [
        ("create", None, "draft"),
        ("publish_notice", "draft", "public_notice"),
        ("submit", "public_notice", "submitted"),
        ("accept", "submitted", "local_review"),
        ("pass_review", "local_review", "local_gov_approval"),
        ("approve", "local_gov_approval", "awaiting_filing"),
        ("file", "awaiting_filing", "filing_review"),
        ("acknowledge_filing", "filing_review", "filed"),
    ]


def test_city_route_for_major_cross_district_and_city_level(api: Api, clock: FixedClock) -> None:
    """S05 and variant b: 重大, 跨区域 or 市级 → 市专班受理审核 → 市政府批准 → approved, no filing."""
    for flag in ("major", "cross_district", "city_level"):
        plan = submitted(api, clock, "owner2", **{flag: True})
        accept = api.action("dongcheng.zhujian", plan, "accept")
        assert accept["allowed"] is False
        assert accept["reason"]
        assert allowed(api, "dongcheng.zhujian", plan) == set()
        before = snapshot(api, plan)
        assert_problem(api.fire("dongcheng.zhujian", plan, "accept"), 403, "permission_denied")
        assert snapshot(api, plan) == before
        assert {"accept", "request_supplement", "refuse_acceptance"} <= allowed(api, "city.zhuanban", plan)

        plan = api.step("city.zhuanban", plan, "accept")
        assert plan["state"] == "task_force_review", flag
        for bystander in ("dongcheng.zhujian", "dongcheng.gov", "city.gov"):
            assert allowed(api, bystander, plan) == set(), bystander
        plan = api.step("city.zhuanban", plan, "pass_review", data={"review_opinion": "同意报市政府"})
        assert plan["state"] == "city_gov_approval"
        assert allowed(api, "dongcheng.gov", plan) == set()
        plan = api.step("city.gov", plan, "approve", data={"approval_doc_no": "示政字〔2026〕40号"})
        assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("approved", "approved", [])

        entries = audit(api, plan)
        assert [(e["action"], e["from_state"], e["to_state"]) for e in entries] == [
            ("create", None, "draft"),
            ("publish_notice", "draft", "public_notice"),
            ("submit", "public_notice", "submitted"),
            ("accept", "submitted", "task_force_review"),
            ("pass_review", "task_force_review", "city_gov_approval"),
            ("approve", "city_gov_approval", "approved"),
        ]
        assert entries[3]["data"]["routing"][flag] is True  # the city route is recorded with its reason


def test_district_office_is_told_why_a_major_plan_goes_to_the_city(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock, "owner2", major=True)
    accept = api.action("dongcheng.zhujian", plan, "accept")
    assert accept["allowed"] is False
    assert CITY_ROUTE_REASON in accept["reason"]


def test_escalate_to_city(api: Api, clock: FixedClock) -> None:
    """S05 variant c: a local plan in 属地审查 escalated by the task force."""
    plan = submitted(api, clock, "owner")
    plan = api.step("dongcheng.zhujian", plan, "accept")
    assert_problem(api.fire("dongcheng.zhujian", plan, "escalate_to_city", comment="x"), 403, "permission_denied")
    before = snapshot(api, plan)
    assert_problem(api.fire("city.zhuanban", plan, "escalate_to_city"), 422, "invalid_data")  # reason required
    assert snapshot(api, plan) == before
    plan = api.step("city.zhuanban", plan, "escalate_to_city", comment="涉及跨区域基础设施，提级审核")
    assert plan["state"] == "task_force_review"
    assert allowed(api, "dongcheng.zhujian", plan) == set()
    plan = api.step("city.zhuanban", plan, "pass_review", data={"review_opinion": "同意"})
    plan = api.step("city.gov", plan, "approve", data={"approval_doc_no": "示政字〔2026〕41号"})
    assert (plan["state"], plan["outcome"]) == ("approved", "approved")
    entries = audit(api, plan)
    assert (entries[4]["action"], entries[4]["from_state"], entries[4]["to_state"]) == (
        "escalate_to_city", "local_review", "task_force_review")  # fmt: skip
    assert entries[4]["actor"] == "city.zhuanban"
    assert entries[4]["comment"] == "涉及跨区域基础设施，提级审核"


CONSENT_BUILDING = {"renewal_type": "residential_improvement", "rebuild_or_alter": True,
                    "total_area": 12_000, "total_owners": 150}  # fmt: skip


def test_residents_consent_guard(api: Api, clock: FixedClock) -> None:
    """S06: 民法典 §278 — 2/3 participate, 3/4 of participants agree, by area and by head, exact integers."""
    vote1 = {"participating_area": 8_400, "participating_owners": 104, "agree_area": 6_200, "agree_owners": 80}
    # 9,000 ≥ 2/3 × 12,000 = 8,000; 120 ≥ 100; 6,800 ≥ 6,750; 90 × 4 = 360 = 120 × 3: exactly at the bar
    vote2 = {"participating_area": 9_000, "participating_owners": 120, "agree_area": 6_800, "agree_owners": 90}
    vote3 = {**vote2, "agree_owners": 89}  # one owner fewer agreeing: 89 × 4 = 356 < 360
    datasets = {
        "vote1": implementation_plan_data(**CONSENT_BUILDING, **vote1),
        "bare": implementation_plan_data(**CONSENT_BUILDING),  # figures missing: the guard fails, never a 500
        "vote2": implementation_plan_data(**CONSENT_BUILDING, **vote2),
        "vote3": implementation_plan_data(**CONSENT_BUILDING, **vote3),
        # the guard only concerns 居住类 改建/重建
        "other": implementation_plan_data(**{**CONSENT_BUILDING, "renewal_type": "public_space"}, **vote1),
    }
    plans = {}
    for name, data in datasets.items():
        plans[name] = api.step("owner", api.created("owner", "implementation_plan", data), "publish_notice")
    wait_out_notice(clock, "implementation_plan")

    plan = plans["vote1"]
    submit = api.action("owner", plan, "submit")
    assert submit["allowed"] is False
    before = snapshot(api, plan)
    refused = api.fire("owner", plan, "submit")
    body = assert_problem(refused, 422, "guard_failed")
    assert "四分之三" in body["detail"]
    assert snapshot(api, plan) == before  # same state, same version, no audit entry

    assert_problem(api.fire("owner", plans["bare"], "submit"), 422, "guard_failed")
    assert_problem(api.fire("owner", plans["vote3"], "submit"), 422, "guard_failed")

    assert api.action("owner", plans["vote2"], "submit")["allowed"] is True
    assert api.step("owner", plans["vote2"], "submit")["state"] == "submitted"
    assert api.step("owner", plans["other"], "submit")["state"] == "submitted"


def test_consent_figures_are_recorded_in_the_submit_entry(api: Api, clock: FixedClock) -> None:
    vote = {"participating_area": 9_000, "participating_owners": 120, "agree_area": 6_800, "agree_owners": 90}
    plan = submitted(api, clock, "owner", **CONSENT_BUILDING, **vote)
    entry = audit(api, plan)[-1]
    assert entry["action"] == "submit"
    guard = entry["data"]["guard"]
    assert guard["held"] is True and "4 * agree_owners >= 3 * participating_owners" in guard["when"]
    expected = {"total_area": CONSENT_BUILDING["total_area"], "total_owners": CONSENT_BUILDING["total_owners"], **vote}
    assert {name: guard["facts"][name] for name in expected} == expected


def test_withdraw(api: Api, clock: FixedClock) -> None:
    """S14: the applicant withdraws during review; another applicant cannot; a decided plan cannot."""
    plan = submitted(api, clock, "owner2", district="linhe")
    plan = api.step("linhe.zhujian", plan, "accept")
    assert plan["state"] == "local_review"
    inbox = api.get("linhe.zhujian", "/api/v1/applications", params={"actionable": "true"}).json()["items"]
    assert plan["id"] in [item["id"] for item in inbox]

    before = snapshot(api, plan)
    assert_problem(api.fire("owner", plan, "withdraw", comment="不是我的"), 403, "permission_denied")
    assert_problem(api.fire("linhe.zhujian", plan, "withdraw", comment="x"), 403, "permission_denied")
    assert_problem(api.fire("owner2", plan, "withdraw"), 422, "invalid_data")  # the reason is required
    assert snapshot(api, plan) == before

    plan = api.step("owner2", plan, "withdraw", comment="调整项目范围")
    assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("withdrawn", "withdrawn", [])
    inbox = api.get("linhe.zhujian", "/api/v1/applications", params={"actionable": "true"}).json()["items"]
    assert plan["id"] not in [item["id"] for item in inbox]
    assert [a for a, _, _ in trail(api, plan)] == ["create", "publish_notice", "submit", "accept", "withdraw"]

    # a decided (final) plan cannot be withdrawn
    major = submitted(api, clock, "owner2", major=True)
    major = api.step("city.zhuanban", major, "accept")
    major = api.step("city.zhuanban", major, "pass_review", data={"review_opinion": "同意"})
    major = api.step("city.gov", major, "approve", data={"approval_doc_no": "示政字〔2026〕50号"})
    before = snapshot(api, major)
    assert_problem(api.fire("owner2", major, "withdraw", comment="撤回"), 409, "transition_not_allowed")
    assert snapshot(api, major) == before
    assert before[:3] == ("approved", 6, "approved")


def test_refuse_acceptance_needs_reasons(api: Api, clock: FixedClock) -> None:
    """S15: 不予受理 without reasons → 422 and nothing changes; with reasons → rejected."""
    plan = submitted(api, clock, "owner")
    before = snapshot(api, plan)
    body = assert_problem(api.fire("dongcheng.zhujian", plan, "refuse_acceptance"), 422, "invalid_data")
    assert body["context"]["field"] == "comment"
    blank = api.fire("dongcheng.zhujian", plan, "refuse_acceptance", comment="   ")
    assert_problem(blank, 422, "invalid_data")
    assert snapshot(api, plan) == before

    reason = "项目位于城镇开发边界外，不属于城市更新范围（聊政字〔2023〕7号 四）"
    plan = api.step("dongcheng.zhujian", plan, "refuse_acceptance", comment=reason)
    assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("rejected", "rejected", [])
    last = audit(api, plan)[-1]
    assert (last["action"], last["from_state"], last["to_state"], last["comment"]) == (
        "refuse_acceptance", "submitted", "rejected", reason)  # fmt: skip
    assert last["actor"] == "dongcheng.zhujian"


def test_acceptance_with_gaps_blocks_approval_until_confirmed(api: Api, clock: FixedClock) -> None:
    """容缺受理: the review runs, the approval waits for the missing non-key materials."""
    plan = submitted(api, clock, "owner")
    plan = api.step("dongcheng.zhujian", plan, "accept_with_gaps",
                    data={"missing_items": ["银行资信证明"], "supply_by": "2026-04-30"})  # fmt: skip
    assert plan["state"] == "local_review" and plan["data"]["missing_items"] == ["银行资信证明"]
    plan = api.step("dongcheng.zhujian", plan, "pass_review", data={"review_opinion": "同意"})
    blocked = api.fire("dongcheng.gov", plan, "approve", data={"approval_doc_no": "东政字〔2026〕9号"})
    assert_problem(blocked, 422, "guard_failed")
    assert "容缺" in blocked.json()["detail"]
    plan = api.step("dongcheng.zhujian", plan, "confirm_gaps_supplied", data={"gaps_supplied_on": "2026-04-20"})
    plan = api.step("dongcheng.gov", plan, "approve", data={"approval_doc_no": "东政字〔2026〕9号"})
    assert (plan["state"], plan["outcome"]) == ("awaiting_filing", "approved")
