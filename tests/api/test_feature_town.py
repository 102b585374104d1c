"""风貌特色镇 申报 and 验收 (workflow F, PROCESS.md §5 F; seed 001) over the HTTP API: S22 with its dates,
the ≥ 3 blocks rule, the 50/50 以奖代补 split, returns, 未列入 / 终止 / 撤回."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from engine.clock import FixedClock
from engine.working_days import SHANGHAI
from tests.factories import Api, allowed, assert_problem, audit

TOWN, COUNTY_OFFICE, COUNTY_GOV, CITY_OFFICE = "linhe.town", "linhe.fengmao", "linhe.gov", "city.fengmao"


def at(clock: FixedClock, day: str, hour: int = 9) -> None:
    """Move the clock forward to ``hour`` o'clock of ``day`` (MM-DD of 2026) in Shanghai."""
    target = datetime.combine(date.fromisoformat(f"2026-{day}"), time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    assert target >= clock.now(), "the clock only moves forward"
    clock.advance(target - clock.now())


def town_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "district": "linhe",
        "town": "青山镇",
        "batch": "2026-1",
        "declaration_docs": ["青山镇风貌特色镇申报书", "风貌现状调查报告"],
        "declaration_summary": "青山镇依山傍水，老街保存完整",
    }
    return {**data, **overrides}


BLOCKS = {
    "block_1": "青山老街", "block_1_category": "feature_streets",
    "block_2": "镇东小区", "block_2_category": "old_compounds",
    "block_3": "滨河公园", "block_3_category": "public_spaces",
    "core_functions": "文旅休闲、宜居生活", "key_types_areas": "老街两侧、镇东居住区、滨河带",
    "project_schedule": "2026 年启动 12 个项目，2027 年底前完工",
}  # fmt: skip
AWARD = {"score": 86.5, "score_sheet": "风貌特色 30/35，创新性 18/20（加权）……", "award_total": 3_000_000,
         "award_city_share": 1_500_000, "award_county_share": 1_500_000, "award_first_year": 2027}  # fmt: skip


def listed(api: Api) -> dict[str, Any]:
    town = api.created(TOWN, "feature_town", town_data())
    town = api.step(TOWN, town, "submit")
    town = api.step(COUNTY_OFFICE, town, "forward", data={"county_office_opinion": "同意上报"})
    town = api.step(COUNTY_GOV, town, "pass_review", data={"county_gov_opinion": "同意"})
    return api.step(CITY_OFFICE, town, "publish_list", data={"list_doc_no": "示风貌办〔2026〕2号"})


def test_every_state_and_transition_cites_its_basis(api: Api) -> None:
    definition = api.get("owner", "/api/v1/workflows/feature_town").json()
    assert definition["basis"] == "001 三(一)(二)(四)"
    assert all(state["basis"] for state in definition["states"])
    assert all(transition["basis"] for transition in definition["transitions"])
    bases = {t["id"]: t["basis"] for t in definition["transitions"]}
    assert bases["submit"] == bases["forward"] == bases["pass_review"] == bases["publish_list"] == "001 三(一)"
    assert bases["request_acceptance"] == bases["county_consent"] == "001 三(四)"
    assert bases["evaluate_pass"] == "001 三(四), 四(二)"
    assert bases["not_list"] == bases["terminate"] == "〔default〕"
    outcomes = {s["id"]: s.get("outcome") for s in definition["states"]}
    assert outcomes == {"draft": None, "county_office_review": None, "county_gov_review": None,
                        "city_office_review": None, "listed": "approved", "building": "approved",
                        "acceptance_requested": "approved", "city_evaluation": "approved", "passed": "approved",
                        "not_listed": "rejected", "not_passed": "rejected", "withdrawn": "withdrawn"}  # fmt: skip


def test_s22_declaration_list_action_plan_acceptance_award(api: Api, clock: FixedClock) -> None:
    """S22 with its dates: 青山镇 → 临河县风貌办 → 临河县政府 → 市风貌办 名单 → 行动方案 → 验收 → 综合评比."""
    assert_problem(api.create("owner", "feature_town", town_data()), 403, "permission_denied")
    assert_problem(api.create(COUNTY_OFFICE, "feature_town", town_data()), 403, "permission_denied")
    assert_problem(api.create(TOWN, "feature_town", town_data(district="dongcheng")), 403, "permission_denied")

    at(clock, "03-16")
    town = api.created(TOWN, "feature_town", town_data())
    # the town's only way onward is its county office: nothing goes to the city office directly
    assert allowed(api, TOWN, town) == {"submit", "withdraw"}
    town = api.step(TOWN, town, "submit")
    assert (town["state"], town["clock"]["due"]) == ("county_office_review", "2026-04-14")
    assert allowed(api, TOWN, town) == {"withdraw"}
    for user in (CITY_OFFICE, COUNTY_GOV):
        assert allowed(api, user, town) == set(), user
    assert_problem(
        api.fire(CITY_OFFICE, town, "forward", data={"county_office_opinion": "x"}), 403, "permission_denied"
    )

    at(clock, "03-20")
    town = api.step(COUNTY_OFFICE, town, "forward", data={"county_office_opinion": "材料齐全，同意报县政府审核"})
    assert (town["state"], town["clock"]["due"]) == ("county_gov_review", "2026-04-20")
    assert allowed(api, COUNTY_GOV, town) == {"pass_review", "return"}
    for user in (CITY_OFFICE, COUNTY_OFFICE):
        assert allowed(api, user, town) == set(), user

    at(clock, "03-27")
    town = api.step(COUNTY_GOV, town, "pass_review", data={"county_gov_opinion": "同意报市风貌办"})
    assert (town["state"], town["clock"], town["deadline"]) == ("city_office_review", None, None)  # 适时公布

    at(clock, "04-15")
    assert allowed(api, CITY_OFFICE, town) == {"publish_list", "not_list"}
    town = api.step(CITY_OFFICE, town, "publish_list", data={"list_doc_no": "示风貌办〔2026〕2号"})
    assert (town["state"], town["outcome"]) == ("listed", "approved")
    assert allowed(api, TOWN, town) == {"submit_action_plan"}

    at(clock, "05-15")
    two_blocks = {k: v for k, v in BLOCKS.items() if not k.startswith("block_3")}
    short = assert_problem(api.fire(TOWN, town, "submit_action_plan", data=two_blocks), 422, "invalid_data")
    assert short["context"]["field"] == "block_3" and "三个以上" in short["detail"]
    parks = api.fire(TOWN, town, "submit_action_plan", data={**BLOCKS, "block_3_category": "parks"})
    wrong = assert_problem(parks, 422, "invalid_data")
    assert wrong["context"]["field"] == "block_3_category"
    town = api.step(TOWN, town, "submit_action_plan", data=BLOCKS)
    assert (town["state"], town["outcome"]) == ("building", "approved")
    assert town["data"]["block_2_category"] == "old_compounds"

    # 月度通报 and the expert team's opinion: state unchanged, one audit entry each
    at(clock, "07-01")
    town = api.step(TOWN, town, "report_progress",
                    data={"report_month": "2026-06", "projects_started": 5, "progress_percent": 30,
                          "investment_to_date": 4200.0})  # fmt: skip
    town = api.step("city.expert", town, "expert_opinion", data={"expert_comment": "老街立面整治宜保留原有材料"})
    assert town["state"] == "building"
    assert allowed(api, TOWN, town) == {"report_progress", "request_acceptance", "withdraw"}
    assert allowed(api, COUNTY_GOV, town) == set()
    assert allowed(api, CITY_OFFICE, town) == {"terminate"}

    at(clock, "11-02")
    acceptance = {"acceptance_category": "特色街区类", "acceptance_batch": "2026-A",
                  "completion_evidence": ["创建工作总结", "项目竣工清单"]}  # fmt: skip
    town = api.step(TOWN, town, "request_acceptance", data=acceptance)
    assert (town["state"], town["clock"]["due"]) == ("acceptance_requested", "2026-11-30")
    # 验收申请 goes to the county office first; neither the city office nor the county government acts here
    assert allowed(api, COUNTY_OFFICE, town) == {"county_consent", "return"}
    for user in (CITY_OFFICE, COUNTY_GOV, TOWN):
        assert allowed(api, user, town) == set(), user

    at(clock, "11-06")
    town = api.step(COUNTY_OFFICE, town, "county_consent")
    assert (town["state"], town["clock"]) == ("city_evaluation", None)
    assert allowed(api, COUNTY_GOV, town) == set()
    assert allowed(api, CITY_OFFICE, town) == {"evaluate_pass", "evaluate_fail"}

    at(clock, "11-30")
    uneven = api.fire(CITY_OFFICE, town, "evaluate_pass",
                      data={**AWARD, "award_city_share": 2_000_000, "award_county_share": 1_000_000})  # fmt: skip
    assert "50%" in assert_problem(uneven, 422, "guard_failed")["detail"]
    town = api.step(CITY_OFFICE, town, "evaluate_pass", data=AWARD)
    assert (town["state"], town["outcome"], town["available_actions"]) == ("passed", "approved", [])

    entries = audit(api, town)
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("create", TOWN),
        ("submit", TOWN),
        ("forward", COUNTY_OFFICE),
        ("pass_review", COUNTY_GOV),
        ("publish_list", CITY_OFFICE),
        ("submit_action_plan", TOWN),
        ("report_progress", TOWN),
        ("expert_opinion", "city.expert"),
        ("request_acceptance", TOWN),
        ("county_consent", COUNTY_OFFICE),
        ("evaluate_pass", CITY_OFFICE),
    ]
    by_action = {e["action"]: e for e in entries}
    assert by_action["submit_action_plan"]["data"]["input"] == BLOCKS
    assert by_action["request_acceptance"]["data"]["input"] == acceptance
    assert by_action["evaluate_pass"]["data"]["input"] == AWARD
    assert by_action["publish_list"]["data"]["basis"] == "001 三(一)"
    assert by_action["evaluate_pass"]["data"]["outcome"] == "approved"


def test_returns_before_the_list_and_not_listed(api: Api) -> None:
    town = api.created(TOWN, "feature_town", town_data(batch=None))
    assert_problem(api.fire(TOWN, town, "submit"), 422, "invalid_data")  # 申报批次 required
    town = api.step(TOWN, town, "submit", data={"batch": "2026-1"})
    assert_problem(api.fire(COUNTY_OFFICE, town, "return"), 422, "invalid_data")  # reasons required
    town = api.step(COUNTY_OFFICE, town, "return", comment="缺风貌现状照片")
    assert (town["state"], town["clock"]) == ("draft", None)
    town = api.step(TOWN, town, "submit")
    town = api.step(COUNTY_OFFICE, town, "forward", data={"county_office_opinion": "已补齐"})
    town = api.step(COUNTY_GOV, town, "return", comment="创建目标不明确")
    assert town["state"] == "draft"
    town = api.step(TOWN, town, "submit")
    town = api.step(COUNTY_OFFICE, town, "forward", data={"county_office_opinion": "同意"})
    town = api.step(COUNTY_GOV, town, "pass_review", data={"county_gov_opinion": "同意"})
    assert_problem(api.fire(CITY_OFFICE, town, "not_list"), 422, "invalid_data")
    town = api.step(CITY_OFFICE, town, "not_list", comment="本批次名额已满，可参加下一批次申报")
    assert (town["state"], town["outcome"], town["available_actions"]) == ("not_listed", "rejected", [])
    assert [(e["action"], e["from_state"], e["to_state"]) for e in audit(api, town)][1:4] == [
        ("submit", "draft", "county_office_review"),
        ("return", "county_office_review", "draft"),
        ("submit", "draft", "county_office_review"),
    ]


def test_acceptance_returned_failed_then_terminated(api: Api) -> None:
    town = listed(api)
    assert_problem(api.fire(TOWN, town, "withdraw", comment="x"), 409, "transition_not_allowed")  # listed: act first
    town = api.step(TOWN, town, "submit_action_plan", data=BLOCKS)
    acceptance = {"acceptance_category": "老旧小区类", "acceptance_batch": "2026-B", "completion_evidence": ["总结"]}
    town = api.step(TOWN, town, "request_acceptance", data=acceptance)
    town = api.step(COUNTY_OFFICE, town, "return", comment="项目尚未完工")
    assert (town["state"], town["outcome"]) == ("building", "approved")
    town = api.step(TOWN, town, "request_acceptance", data=acceptance)
    town = api.step(COUNTY_OFFICE, town, "county_consent")
    assert_problem(api.fire(CITY_OFFICE, town, "evaluate_fail"), 422, "invalid_data")
    town = api.step(CITY_OFFICE, town, "evaluate_fail", comment="得分 52，未达合格线，可参加下一批验收")
    assert (town["state"], town["outcome"]) == ("building", "approved")
    assert_problem(api.fire(COUNTY_OFFICE, town, "terminate", comment="x"), 403, "permission_denied")
    town = api.step(CITY_OFFICE, town, "terminate", comment="连续两年考评不合格")
    assert (town["state"], town["outcome"], town["available_actions"]) == ("not_passed", "rejected", [])


def test_town_withdraws_while_building(api: Api) -> None:
    town = api.step(TOWN, listed(api), "submit_action_plan", data=BLOCKS)
    assert_problem(api.fire(COUNTY_OFFICE, town, "withdraw", comment="x"), 403, "permission_denied")
    assert_problem(api.fire(TOWN, town, "withdraw"), 422, "invalid_data")
    town = api.step(TOWN, town, "withdraw", comment="镇区划调整，退出创建")
    assert (town["state"], town["outcome"]) == ("withdrawn", "withdrawn")
