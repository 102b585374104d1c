"""单元规划 (workflow B) over the HTTP API: 中心城区 and county routes, S02, S03, S19, supplement loops."""

from __future__ import annotations

from typing import Any

from engine.clock import FixedClock
from tests.factories import Api, allowed, assert_problem, audit, trail, unit_plan_data, wait_out_notice

OUTSIDERS_CENTRAL = ("linhe.zrzy", "linhe.gov", "linhe.zhujian", "city.zhuanban", "city.zhujian")


def snapshot(api: Api, application: dict[str, Any]) -> tuple[str, int, int]:
    view = api.get("admin", f"/api/v1/applications/{application['id']}").json()
    return view["state"], view["version"], len(audit(api, application))


def submitted(api: Api, clock: FixedClock, compiler: str, **overrides: Any) -> dict[str, Any]:
    application = api.created(compiler, "unit_plan", unit_plan_data(**overrides))
    application = api.step(compiler, application, "publish_notice")
    wait_out_notice(clock, "unit_plan")
    return api.step(compiler, application, "submit")


def test_central_route_end_to_end(api: Api, clock: FixedClock) -> None:
    """S02: 东城区 (中心城区) → 市自然资源和规划局 受理/审核 → 市人民政府 批准; no filing."""
    plan = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data())
    assert (plan["state"], plan["version"], plan["workflow_version"]) == ("draft", 1, 1)
    assert plan["applicant"] == "dongcheng.zhujian"
    assert plan["outcome"] is None

    plan = api.step("dongcheng.zhujian", plan, "publish_notice")
    assert plan["state"] == "public_notice"
    # the 30-day 公示 has not run yet: submitting now is refused and changes nothing
    before = snapshot(api, plan)
    early = api.fire("dongcheng.zhujian", plan, "submit")
    assert early.status_code == 422, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert api.action("dongcheng.zhujian", plan, "submit")["allowed"] is False
    assert snapshot(api, plan) == before
    wait_out_notice(clock, "unit_plan")
    plan = api.step("dongcheng.zhujian", plan, "submit")
    assert (plan["state"], plan["version"]) == ("submitted", 3)

    # only the city planning authority may accept a 中心城区 plan
    assert {"accept", "request_supplement", "refuse_acceptance"} <= allowed(api, "city.zrzy", plan)
    for outsider in (*OUTSIDERS_CENTRAL, "city.gov", "dongcheng.gov"):
        assert allowed(api, outsider, plan) == set(), outsider
    assert allowed(api, "dongcheng.zhujian", plan) == {"withdraw"}

    plan = api.step("city.zrzy", plan, "accept")
    assert plan["state"] == "planning_review"
    for outsider in (*OUTSIDERS_CENTRAL, "city.gov", "dongcheng.gov"):
        assert allowed(api, outsider, plan) == set(), outsider

    # pass_review requires its own field review_opinion
    missing = api.fire("city.zrzy", plan, "pass_review")
    body = assert_problem(missing, 422, "invalid_data")
    assert "review_opinion" in body["detail"]
    plan = api.step("city.zrzy", plan, "pass_review", data={"review_opinion": "符合专项规划，同意报批"})
    assert plan["state"] == "gov_approval"

    # S02: the district government sees 批准 but may not fire it, and is told who may
    approve = api.action("dongcheng.gov", plan, "approve")
    assert approve["allowed"] is False
    assert "市人民政府" in approve["reason"]
    assert approve["kind"] == "approve"
    assert [f["name"] for f in approve["fields"]] == ["approval_doc_no"]
    for outsider in (*OUTSIDERS_CENTRAL, "dongcheng.gov", "city.zrzy"):
        assert allowed(api, outsider, plan) == set(), outsider
    assert {"approve", "return", "reject"} <= allowed(api, "city.gov", plan)
    refused = api.fire("dongcheng.gov", plan, "approve", data={"approval_doc_no": "东政字〔2026〕1号"})
    assert_problem(refused, 403, "permission_denied")

    plan = api.step("city.gov", plan, "approve", data={"approval_doc_no": "示政字〔2026〕21号"})
    assert (plan["state"], plan["outcome"], plan["version"]) == ("approved", "approved", 6)
    assert plan["data"]["approval_doc_no"] == "示政字〔2026〕21号"
    # final: nothing leaves it, in particular no 备案 step
    assert plan["available_actions"] == []
    for user in ("dongcheng.zhujian", "city.zhuanban", "linhe.zrzy", "linhe.gov"):
        view = api.get(user, f"/api/v1/applications/{plan['id']}").json()
        assert view["available_actions"] == [], user
    filing = api.fire("dongcheng.zhujian", plan, "file")
    assert_problem(filing, 409, "transition_not_allowed")

    entries = audit(api, plan)
    assert [(e["action"], e["from_state"], e["to_state"]) for e in entries] == [
        ("create", None, "draft"),
        ("publish_notice", "draft", "public_notice"),
        ("submit", "public_notice", "submitted"),
        ("accept", "submitted", "planning_review"),
        ("pass_review", "planning_review", "gov_approval"),
        ("approve", "gov_approval", "approved"),
    ]
    assert [e["actor"] for e in entries] == ["dongcheng.zhujian"] * 3 + ["city.zrzy", "city.zrzy", "city.gov"]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert entries[3]["data"]["routing"]["level"] == "central"
    assert entries[5]["data"]["input"] == {"approval_doc_no": "示政字〔2026〕21号"}


def test_county_route_end_to_end_with_filing(api: Api, clock: FixedClock) -> None:
    """S03: 临河县 → 县自规局 → 县政府 批准 (awaiting_filing) → 报市专班备案 → filed."""
    # S03 step 1: adjusts the 控规 without the adjustment ref → 422 naming the field, nothing changed
    blocked = api.created("linhe.zhujian", "unit_plan", unit_plan_data(district="linhe", adjusts_regulatory_plan=True))
    blocked = api.step("linhe.zhujian", blocked, "publish_notice")
    wait_out_notice(clock, "unit_plan")
    before = snapshot(api, blocked)
    submit_action = api.action("linhe.zhujian", blocked, "submit")
    assert submit_action["allowed"] is False
    assert "regulatory_plan_adjustment_ref" in submit_action["reason"]
    refused = api.fire("linhe.zhujian", blocked, "submit")
    body = assert_problem(refused, 422, "guard_failed")
    assert "regulatory_plan_adjustment_ref" in body["detail"]
    assert snapshot(api, blocked) == before

    plan = api.created(
        "linhe.zhujian",
        "unit_plan",
        unit_plan_data(district="linhe", unit_id="LH-U-02", adjusts_regulatory_plan=True,
                       regulatory_plan_adjustment_ref="临自然资规〔2026〕4号"),
    )  # fmt: skip
    plan = api.step("linhe.zhujian", plan, "publish_notice")
    wait_out_notice(clock, "unit_plan")
    plan = api.step("linhe.zhujian", plan, "submit")
    assert plan["state"] == "submitted"

    def city_level_never_acts() -> None:
        for user in ("city.zrzy", "city.gov", "dongcheng.gov", "dongcheng.zhujian"):
            assert allowed(api, user, plan) == set(), (user, plan["state"])

    city_level_never_acts()
    assert "accept" in allowed(api, "linhe.zrzy", plan)
    wrong = api.fire("city.zrzy", plan, "accept")
    assert_problem(wrong, 403, "permission_denied")

    plan = api.step("linhe.zrzy", plan, "accept")
    assert plan["state"] == "planning_review"
    city_level_never_acts()
    plan = api.step("linhe.zrzy", plan, "pass_review", data={"review_opinion": "同意"})
    assert plan["state"] == "gov_approval"
    city_level_never_acts()
    assert "approve" in allowed(api, "linhe.gov", plan)
    plan = api.step("linhe.gov", plan, "approve", data={"approval_doc_no": "临政字〔2026〕12号"})
    assert (plan["state"], plan["outcome"]) == ("awaiting_filing", "approved")
    city_level_never_acts()
    assert allowed(api, "linhe.zhujian", plan) == {"file"}
    assert allowed(api, "city.zhuanban", plan) == set()

    plan = api.step("linhe.zhujian", plan, "file")
    assert (plan["state"], plan["outcome"]) == ("filing_review", "approved")
    city_level_never_acts()
    assert {"acknowledge_filing", "return_filing"} <= allowed(api, "city.zhuanban", plan)
    missing = api.fire("city.zhuanban", plan, "acknowledge_filing")
    assert "filing_no" in assert_problem(missing, 422, "invalid_data")["detail"]
    plan = api.step("city.zhuanban", plan, "acknowledge_filing", data={"filing_no": "示更新备〔2026〕7号"})
    assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("filed", "filed", [])

    entries = audit(api, plan)
    assert [(e["action"], e["from_state"], e["to_state"]) for e in entries] == [
        ("create", None, "draft"),
        ("publish_notice", "draft", "public_notice"),
        ("submit", "public_notice", "submitted"),
        ("accept", "submitted", "planning_review"),
        ("pass_review", "planning_review", "gov_approval"),
        ("approve", "gov_approval", "awaiting_filing"),
        ("file", "awaiting_filing", "filing_review"),
        ("acknowledge_filing", "filing_review", "filed"),
    ]
    assert [e["actor"] for e in entries][3:] == ["linhe.zrzy", "linhe.zrzy", "linhe.gov", "linhe.zhujian",
                                                 "city.zhuanban"]  # fmt: skip
    assert entries[2]["data"]["routing"]["level"] == "county"  # the route is recorded in the submit entry
    assert entries[2]["data"]["routing"]["district"] == "linhe"
    assert entries[7]["data"]["outcome"] == "filed"


def test_supplement_loops_returns_and_audit(api: Api, clock: FixedClock) -> None:
    """补正 at acceptance and in review, 退回 to draft, and S19's 退回重审 from 市政府."""
    compiler = "dongcheng.zhujian"
    plan = submitted(api, clock, compiler)

    # acceptance-stage 一次性告知补正: the items are required
    no_items = api.fire("city.zrzy", plan, "request_supplement")
    assert "items" in assert_problem(no_items, 422, "invalid_data")["detail"]
    plan = api.step("city.zrzy", plan, "request_supplement", data={"items": ["补充经济分析", "补充公示答复"]})
    assert plan["state"] == "supplement_pending"
    assert allowed(api, compiler, plan) == {"supplement", "withdraw"}
    assert allowed(api, "city.zrzy", plan) == set()
    plan = api.step(compiler, plan, "supplement", comment="已补充")
    assert plan["state"] == "submitted"

    plan = api.step("city.zrzy", plan, "accept")
    # review-stage supplement
    plan = api.step("city.zrzy", plan, "request_supplement", data={"items": ["设施布局图缺图例"]})
    assert plan["state"] == "planning_review_supplement"
    assert allowed(api, compiler, plan) == {"supplement", "withdraw"}
    plan = api.step(compiler, plan, "supplement")
    assert plan["state"] == "planning_review"

    # 退回修改 needs a comment; with one it goes back to draft
    before = snapshot(api, plan)
    silent = api.fire("city.zrzy", plan, "return")
    assert "comment" in assert_problem(silent, 422, "invalid_data")["context"]["field"]
    assert snapshot(api, plan) == before
    plan = api.step("city.zrzy", plan, "return", comment="控制指标与专项规划不一致，请修改")
    assert (plan["state"], plan["outcome"]) == ("draft", None)
    assert {"publish_notice", "withdraw"} == allowed(api, compiler, plan)

    # back round the loop, then S19: 市政府 returns to review with reasons
    plan = api.step(compiler, plan, "publish_notice")
    wait_out_notice(clock, "unit_plan")
    plan = api.step(compiler, plan, "submit")
    plan = api.step("city.zrzy", plan, "accept")
    plan = api.step("city.zrzy", plan, "pass_review", data={"review_opinion": "同意"})
    assert plan["state"] == "gov_approval"
    silent = api.fire("city.gov", plan, "return", data={"target": "planning_review"})
    assert_problem(silent, 422, "invalid_data")  # no reasons
    unlisted = api.fire("city.gov", plan, "return", comment="退回", data={"target": "submitted"})
    assert_problem(unlisted, 422, "invalid_data")  # S19: not a step this return may name
    untargeted = api.fire("city.gov", plan, "return", comment="退回")
    assert_problem(untargeted, 422, "invalid_data")
    plan = api.step("city.gov", plan, "return", comment="公共服务设施布局与专项规划确定的学校用地不一致",
                    data={"target": "planning_review"})  # fmt: skip
    assert plan["state"] == "planning_review"
    plan = api.step("city.zrzy", plan, "pass_review", data={"review_opinion": "已按意见修改"})
    plan = api.step("city.gov", plan, "approve", data={"approval_doc_no": "示政字〔2026〕30号"})
    assert (plan["state"], plan["outcome"]) == ("approved", "approved")

    entries = audit(api, plan)
    assert [(e["action"], e["from_state"], e["to_state"]) for e in entries] == [
        ("create", None, "draft"),
        ("publish_notice", "draft", "public_notice"),
        ("submit", "public_notice", "submitted"),
        ("request_supplement", "submitted", "supplement_pending"),
        ("supplement", "supplement_pending", "submitted"),
        ("accept", "submitted", "planning_review"),
        ("request_supplement", "planning_review", "planning_review_supplement"),
        ("supplement", "planning_review_supplement", "planning_review"),
        ("return", "planning_review", "draft"),
        ("publish_notice", "draft", "public_notice"),
        ("submit", "public_notice", "submitted"),
        ("accept", "submitted", "planning_review"),
        ("pass_review", "planning_review", "gov_approval"),
        ("return", "gov_approval", "planning_review"),
        ("pass_review", "planning_review", "gov_approval"),
        ("approve", "gov_approval", "approved"),
    ]
    assert plan["version"] == len(entries)  # one version per transition, starting at 1 on create
    assert entries[3]["data"]["input"] == {"items": ["补充经济分析", "补充公示答复"]}
    assert entries[8]["comment"] == "控制指标与专项规划不一致，请修改"
    assert entries[13]["comment"] == "公共服务设施布局与专项规划确定的学校用地不一致"
    assert entries[13]["actor"] == "city.gov"


def test_who_may_compile_and_withdraw(api: Api, clock: FixedClock) -> None:
    """Only a district renewal office of the plan's own district starts a unit plan; the compiler withdraws."""
    assert_problem(api.create("owner", "unit_plan", unit_plan_data()), 403, "permission_denied")
    assert_problem(api.create("linhe.zhujian", "unit_plan", unit_plan_data()), 403, "permission_denied")
    assert_problem(api.create("city.zrzy", "unit_plan", unit_plan_data()), 403, "permission_denied")

    plan = submitted(api, clock, "dongcheng.zhujian")
    plan = api.step("city.zrzy", plan, "accept")
    no_reason = api.fire("dongcheng.zhujian", plan, "withdraw")
    assert_problem(no_reason, 422, "invalid_data")
    assert_problem(api.fire("city.zrzy", plan, "withdraw", comment="x"), 403, "permission_denied")
    plan = api.step("dongcheng.zhujian", plan, "withdraw", comment="单元范围调整")
    assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("withdrawn", "withdrawn", [])
    assert trail(api, plan)[-1] == ("withdraw", "planning_review", "withdrawn")


def test_government_may_return_to_the_compiler(api: Api, clock: FixedClock) -> None:
    plan = api.created("linhe.zhujian", "unit_plan", unit_plan_data(district="linhe"))
    plan = api.step("linhe.zhujian", plan, "publish_notice")
    wait_out_notice(clock, "unit_plan")
    plan = api.step("linhe.zhujian", plan, "submit")
    plan = api.step("linhe.zrzy", plan, "accept")
    plan = api.step("linhe.zrzy", plan, "pass_review", data={"review_opinion": "同意"})
    plan = api.step("linhe.gov", plan, "return", comment="单元范围需调整", data={"target": "draft"})
    assert plan["state"] == "draft" and plan["clock"] is None
    assert audit(api, plan)[-1]["data"]["input"] == {"target": "draft"}
