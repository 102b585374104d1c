"""城市更新专项规划 (workflow A, PROCESS.md §5 A) over the HTTP API: S01 with its dates, the 中心城区 route,
补正 / 暂停 / 退回 loops, 视为受理, and the basis every state and transition cites."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from api.services import scheduler
from engine.clock import FixedClock
from engine.working_days import SHANGHAI
from tests.factories import Api, allowed, assert_problem, audit

COUNTY_COMPILER, CENTRAL_COMPILER = "linhe.zhujian", "dongcheng.zhujian"


def at(clock: FixedClock, day: str, hour: int = 9) -> None:
    """Move the clock forward to ``hour`` o'clock of ``day`` in Shanghai."""
    target = datetime.combine(date.fromisoformat(f"2026-{day}"), time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    assert target >= clock.now(), "the clock only moves forward"
    clock.advance(target - clock.now())


def plan_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "district": "linhe",
        "plan_text": "重点区域、更新方向、总体目标、发展策略",
        "plan_drawings": ["更新单元划定图", "重点区域分布图"],
        "health_check_report": "临河县 2025 年城市体检报告",
        "unit_list": ["LH-U-01 老城片区", "LH-U-02 滨河片区"],
    }
    return {**data, **overrides}


NOTICE = {"notice_summary": "收到意见 12 条，采纳 5 条，均已答复", "notice_comments_received": 12,
          "notice_comments_adopted": 5}  # fmt: skip


def noticed(api: Api, compiler: str, **overrides: Any) -> dict[str, Any]:
    plan = api.created(compiler, "special_plan", plan_data(**overrides))
    return api.step(compiler, plan, "publish_notice")


def submitted(api: Api, clock: FixedClock, compiler: str, **overrides: Any) -> dict[str, Any]:
    """Created and put on notice today, submitted on the first day the 30-day 公示 allows."""
    plan = noticed(api, compiler, **overrides)
    at(clock, plan["clock"]["due"][5:])
    return api.step(compiler, plan, "submit", data=NOTICE)


def test_every_state_and_transition_cites_its_basis(api: Api) -> None:
    definition = api.get("owner", "/api/v1/workflows/special_plan").json()
    assert definition["basis"] == "004 五(二)"
    assert all(state["basis"] for state in definition["states"])
    assert all(transition["basis"] for transition in definition["transitions"])
    bases = {t["id"]: t["basis"] for t in definition["transitions"]}
    assert bases["publish_notice"].startswith("N: 城乡规划法 §26")
    assert bases["pass_review"] == bases["approve"] == bases["acknowledge_filing"] == "004 五(二)"
    assert bases["deem_accept"] == "N: 行政许可法 §32"
    assert bases["register_onemap"] == "000 二(一)1, 三(二)"
    states = {s["id"]: s for s in definition["states"]}
    assert states["public_notice"]["limit"] == {"natural_days": 30}
    assert states["committee_review_supplement"]["counts"] is False
    assert {s for s, v in states.items() if v.get("final")} == {"filed", "rejected", "withdrawn"}


def test_s01_county_plan_notice_committee_approval_filing(api: Api, clock: FixedClock) -> None:
    """S01 with its dates: 临河县 compiles; 县规委会 (through linhe.zrzy) deliberates; 县政府 approves; 市专班 files."""
    at(clock, "03-02")
    plan = api.created(COUNTY_COMPILER, "special_plan", plan_data())
    plan = api.step(COUNTY_COMPILER, plan, "publish_notice")
    assert (plan["state"], plan["clock"]["unit"], plan["clock"]["due"]) == ("public_notice", "natural_days",
                                                                            "2026-04-01")  # fmt: skip

    at(clock, "03-31")
    early = api.fire(COUNTY_COMPILER, plan, "submit", data=NOTICE)
    assert "2026-04-01" in assert_problem(early, 422, "guard_failed")["detail"]
    assert api.action(COUNTY_COMPILER, plan, "submit")["allowed"] is False

    at(clock, "04-02")
    plan = api.step(COUNTY_COMPILER, plan, "submit", data=NOTICE)
    assert (plan["state"], plan["clock"]["due"]) == ("submitted", "2026-04-10")  # 04-06 清明 skipped
    assert plan["data"]["notice_comments_received"] == 12

    def city_never_acts() -> None:
        for user in ("city.zrzy", "city.gov", "dongcheng.gov", "dongcheng.zhujian", "linhe.town"):
            assert allowed(api, user, plan) == set(), (user, plan["state"])

    city_never_acts()
    assert {"accept", "request_supplement", "refuse_acceptance"} <= allowed(api, "linhe.zrzy", plan)
    assert_problem(api.fire("city.zrzy", plan, "accept"), 403, "permission_denied")

    at(clock, "04-03")
    plan = api.step("linhe.zrzy", plan, "accept")
    assert (plan["state"], plan["clock"]["due"]) == ("committee_review", "2026-05-07")
    city_never_acts()
    missing = api.fire("linhe.zrzy", plan, "pass_review", data={"committee_opinion": "通过"})
    assert "committee_meeting_no" in assert_problem(missing, 422, "invalid_data")["detail"]

    at(clock, "04-16")
    committee = {"committee_meeting_no": "2026 年第 2 次", "committee_meeting_date": "2026-04-15",
                 "committee_opinion": "通过"}  # fmt: skip
    plan = api.step("linhe.zrzy", plan, "pass_review", data=committee)
    assert (plan["state"], plan["clock"]["due"]) == ("gov_approval", "2026-05-18")
    city_never_acts()
    assert {"approve", "return", "return_to_draft", "reject"} <= allowed(api, "linhe.gov", plan)
    assert allowed(api, "linhe.zrzy", plan) == set()

    at(clock, "04-24")
    plan = api.step("linhe.gov", plan, "approve", data={"approval_doc_no": "临政字〔2026〕12号"})
    assert (plan["state"], plan["outcome"], plan["clock"]["due"]) == ("awaiting_filing", "approved", "2026-05-12")
    assert allowed(api, COUNTY_COMPILER, plan) == {"file"}
    assert allowed(api, "city.zhuanban", plan) == set()

    at(clock, "04-27")
    plan = api.step(COUNTY_COMPILER, plan, "file")
    assert (plan["state"], plan["clock"]["due"]) == ("filing_review", "2026-05-07")
    assert {"acknowledge_filing", "return_filing"} <= allowed(api, "city.zhuanban", plan)

    # 纳入"一张图" by the county planning bureau: state, outcome and deadline unchanged, one audit entry.
    # (S01 does it after `filed`; final states take no transitions in the engine, so it happens here.)
    assert allowed(api, "linhe.zrzy", plan) == {"register_onemap"}
    assert allowed(api, "city.zrzy", plan) == set()
    at(clock, "04-30")
    before = plan["version"]
    plan = api.step("linhe.zrzy", plan, "register_onemap", data={"onemap_ref": "LH-YZT-2026-003"})
    assert (plan["state"], plan["outcome"], plan["version"]) == ("filing_review", "approved", before + 1)
    assert plan["clock"]["due"] == "2026-05-07" and plan["data"]["onemap_ref"] == "LH-YZT-2026-003"

    at(clock, "05-06")
    missing = api.fire("city.zhuanban", plan, "acknowledge_filing")
    assert "filing_no" in assert_problem(missing, 422, "invalid_data")["detail"]
    plan = api.step("city.zhuanban", plan, "acknowledge_filing", data={"filing_no": "示更新备〔2026〕3号"})
    assert (plan["state"], plan["outcome"], plan["available_actions"], plan["deadline"]) == ("filed", "filed", [],
                                                                                             None)  # fmt: skip
    late = api.fire("linhe.zrzy", plan, "register_onemap", data={"onemap_ref": "x"})
    assert_problem(late, 409, "transition_not_allowed")

    entries = audit(api, plan)
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("create", COUNTY_COMPILER),
        ("publish_notice", COUNTY_COMPILER),
        ("submit", COUNTY_COMPILER),
        ("accept", "linhe.zrzy"),
        ("pass_review", "linhe.zrzy"),
        ("approve", "linhe.gov"),
        ("file", COUNTY_COMPILER),
        ("register_onemap", "linhe.zrzy"),
        ("acknowledge_filing", "city.zhuanban"),
    ]
    by_action = {e["action"]: e for e in entries}
    assert by_action["submit"]["data"]["routing"]["level"] == "county"
    assert by_action["pass_review"]["data"]["input"] == committee
    assert by_action["pass_review"]["data"]["basis"] == "004 五(二)"
    assert by_action["approve"]["data"]["input"] == {"approval_doc_no": "临政字〔2026〕12号"}
    assert by_action["register_onemap"]["from_state"] == by_action["register_onemap"]["to_state"] == "filing_review"
    assert by_action["register_onemap"]["data"]["basis"] == "000 二(一)1, 三(二)"
    assert by_action["acknowledge_filing"]["data"]["outcome"] == "filed"


def test_central_route_city_committee_city_government_task_force(api: Api, clock: FixedClock) -> None:
    """中心城区: 市规委会 (through city.zrzy) → 市政府 批准 → 市专班 备案; county bodies never act."""
    plan = submitted(api, clock, CENTRAL_COMPILER, district="dongcheng")
    assert plan["state"] == "submitted"
    county = ("linhe.zrzy", "linhe.gov", "linhe.zhujian", "dongcheng.gov")
    for user in county:
        assert allowed(api, user, plan) == set(), user
    plan = api.step("city.zrzy", plan, "accept")
    plan = api.step("city.zrzy", plan, "pass_review",
                    data={"committee_meeting_no": "2026 年第 3 次", "committee_meeting_date": "2026-04-20",
                          "committee_opinion": "通过"})  # fmt: skip
    assert plan["state"] == "gov_approval"
    # the district government sees 批准 but is told the city government decides
    approve = api.action("dongcheng.gov", plan, "approve")
    assert approve["allowed"] is False and "市人民政府" in approve["reason"]
    assert [f["name"] for f in approve["fields"]] == ["approval_doc_no"]
    assert_problem(api.fire("dongcheng.gov", plan, "approve", data={"approval_doc_no": "东政字〔2026〕1号"}), 403,
            "permission_denied")  # fmt: skip
    plan = api.step("city.gov", plan, "approve", data={"approval_doc_no": "示政字〔2026〕8号"})
    assert (plan["state"], plan["outcome"]) == ("awaiting_filing", "approved")
    assert allowed(api, "city.zrzy", plan) == {"register_onemap"}
    assert allowed(api, "linhe.zrzy", plan) == set()
    plan = api.step("city.zrzy", plan, "register_onemap", data={"onemap_ref": "SZ-YZT-2026-001"})
    assert plan["state"] == "awaiting_filing"
    plan = api.step(CENTRAL_COMPILER, plan, "file")
    plan = api.step("city.zhuanban", plan, "return_filing", comment="缺批复文件扫描件")
    assert plan["state"] == "awaiting_filing"
    plan = api.step(CENTRAL_COMPILER, plan, "file")
    plan = api.step("city.zhuanban", plan, "acknowledge_filing", data={"filing_no": "示更新备〔2026〕5号"})
    assert (plan["state"], plan["outcome"]) == ("filed", "filed")
    entries = audit(api, plan)
    assert [e["action"] for e in entries] == ["create", "publish_notice", "submit", "accept", "pass_review",
                                              "approve", "register_onemap", "file", "return_filing", "file",
                                              "acknowledge_filing"]  # fmt: skip
    assert [e["actor"] for e in entries][3:7] == ["city.zrzy", "city.zrzy", "city.gov", "city.zrzy"]
    assert entries[3]["data"]["routing"]["level"] == "central"


def test_who_compiles_and_the_notice_comment_guard(api: Api, clock: FixedClock) -> None:
    assert_problem(api.create("owner", "special_plan", plan_data()), 403, "permission_denied")
    assert_problem(
        api.create(COUNTY_COMPILER, "special_plan", plan_data(district="dongcheng")), 403, "permission_denied"
    )
    assert_problem(api.create("linhe.zrzy", "special_plan", plan_data()), 403, "permission_denied")

    bare = api.created(COUNTY_COMPILER, "special_plan", plan_data(health_check_report=None))
    body = assert_problem(api.fire(COUNTY_COMPILER, bare, "publish_notice"), 422, "invalid_data")
    assert body["context"]["field"] == "health_check_report" and "城市体检评估报告" in body["detail"]

    plan = api.created(COUNTY_COMPILER, "special_plan", plan_data())
    plan = api.step(COUNTY_COMPILER, plan, "publish_notice")
    at(clock, "04-02")
    missing = api.fire(COUNTY_COMPILER, plan, "submit", data={"notice_summary": "无意见"})
    assert assert_problem(missing, 422, "invalid_data")["context"]["field"] == "notice_comments_received"
    odd = api.fire(COUNTY_COMPILER, plan, "submit",
                   data={**NOTICE, "notice_comments_received": 3, "notice_comments_adopted": 5})  # fmt: skip
    assert "采纳意见数" in assert_problem(odd, 422, "guard_failed")["detail"]
    plan = api.step(COUNTY_COMPILER, plan, "submit", data=NOTICE)
    assert plan["state"] == "submitted"


def test_supplements_pause_returns_and_rejections(api: Api, clock: FixedClock) -> None:
    plan = submitted(api, clock, COUNTY_COMPILER)  # submitted 04-01
    plan = api.step("linhe.zrzy", plan, "request_supplement", data={"items": ["补充体检评估报告附表"]})
    assert (plan["state"], plan["deadline"]) == ("supplement_pending", None)
    assert allowed(api, COUNTY_COMPILER, plan) == {"supplement", "withdraw"}
    plan = api.step(COUNTY_COMPILER, plan, "supplement")
    plan = api.step("linhe.zrzy", plan, "accept")
    assert plan["clock"]["due"] == "2026-04-30"  # accepted 04-01

    at(clock, "04-08")
    plan = api.step("linhe.zrzy", plan, "pause", comment="专家评审，预计 10 日")
    assert plan["state"] == "committee_review" and plan["clock"]["paused"] and plan["clock"]["used"] == 4
    assert_problem(api.fire("linhe.zrzy", plan, "pause", comment="再次"), 422, "guard_failed")
    at(clock, "04-20")
    plan = api.step("linhe.zrzy", plan, "resume")
    assert not plan["clock"]["paused"] and plan["clock"]["remaining"] == 16

    plan = api.step("linhe.zrzy", plan, "request_supplement", data={"items": ["单元划定图比例尺"]})
    assert plan["state"] == "committee_review_supplement" and plan["clock"]["paused"]
    plan = api.step(COUNTY_COMPILER, plan, "supplement")
    assert plan["state"] == "committee_review" and not plan["clock"]["paused"]

    committee = {"committee_meeting_no": "2026 年第 4 次", "committee_meeting_date": "2026-04-21",
                 "committee_opinion": "通过"}  # fmt: skip
    plan = api.step("linhe.zrzy", plan, "pass_review", data=committee)
    assert_problem(api.fire("linhe.gov", plan, "return"), 422, "invalid_data")  # reasons required
    plan = api.step("linhe.gov", plan, "return", comment="项目库与年度计划衔接不足，请规委会重新审议")
    assert plan["state"] == "committee_review"
    plan = api.step("linhe.zrzy", plan, "pass_review", data=committee)
    plan = api.step("linhe.gov", plan, "return_to_draft", comment="更新单元范围须调整")
    assert (plan["state"], plan["clock"], plan["deadline"]) == ("draft", None, None)
    assert allowed(api, COUNTY_COMPILER, plan) == {"publish_notice", "withdraw"}

    plan = api.step(COUNTY_COMPILER, plan, "publish_notice")
    at(clock, plan["clock"]["due"][5:])
    plan = api.step(COUNTY_COMPILER, plan, "submit", data=NOTICE)
    plan = api.step("linhe.zrzy", plan, "accept")
    plan = api.step("linhe.zrzy", plan, "reject", comment="超出城镇开发边界")
    assert (plan["state"], plan["outcome"], plan["available_actions"]) == ("rejected", "rejected", [])
    actions = [(e["action"], e["from_state"], e["to_state"]) for e in audit(api, plan)]
    assert ("return", "gov_approval", "committee_review") in actions
    assert ("return_to_draft", "gov_approval", "draft") in actions
    assert actions[-1] == ("reject", "committee_review", "rejected")


def test_deemed_acceptance_refusal_and_withdrawal(api: Api, clock: FixedClock) -> None:
    context = api.client.app.state.context  # type: ignore[attr-defined]
    silent, refused = noticed(api, COUNTY_COMPILER), noticed(api, COUNTY_COMPILER)
    at(clock, "04-01")
    silent = api.step(COUNTY_COMPILER, silent, "submit", data=NOTICE)
    assert silent["clock"]["due"] == "2026-04-09"  # 5 wd, 04-06 清明 skipped
    refused = api.step(COUNTY_COMPILER, refused, "submit", data=NOTICE)
    assert_problem(api.fire("linhe.zrzy", refused, "refuse_acceptance"), 422, "invalid_data")  # written reasons
    refused = api.step("linhe.zrzy", refused, "refuse_acceptance", comment="不属于城市更新专项规划")
    assert (refused["state"], refused["outcome"]) == ("rejected", "rejected")

    at(clock, "04-09", hour=23)
    assert scheduler.run_due_timers(context) == 1  # only the reminder (from 04-03): the deadline is 24:00
    assert api.get(COUNTY_COMPILER, f"/api/v1/applications/{silent['id']}").json()["state"] == "submitted"
    at(clock, "04-10", hour=0)
    assert scheduler.run_due_timers(context) >= 1
    view = api.get(COUNTY_COMPILER, f"/api/v1/applications/{silent['id']}").json()
    assert view["state"] == "committee_review"
    assert view["clock"]["due"] == "2026-04-30"  # 受理 date = receipt date (04-01), 20 wd
    last = audit(api, silent)[-1]
    assert (last["action"], last["actor"], last["data"]["basis"]) == ("deem_accept", "system", "N: 行政许可法 §32")

    assert_problem(api.fire("linhe.zrzy", view, "withdraw", comment="x"), 403, "permission_denied")
    assert_problem(api.fire(COUNTY_COMPILER, view, "withdraw"), 422, "invalid_data")
    done = api.step(COUNTY_COMPILER, view, "withdraw", comment="上位规划调整，撤回重编")
    assert (done["state"], done["outcome"], done["available_actions"]) == ("withdrawn", "withdrawn", [])
