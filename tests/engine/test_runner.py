"""StepRunner on the bundled workflows: who may act, what firing yields, and every refusal."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

import pytest

from engine.deadlines import StepClock
from engine.errors import (
    GreenlaneError,
    GuardFailed,
    InvalidData,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownTransition,
)
from engine.loading import load_spec
from engine.runner import Action, Actor, Case, StepRunner, available_actions, check_initiator
from engine.spec import WorkflowSpec

LEVEL = {"dongcheng": "central", "linhe": "county"}

# Demo-like actors (api/services/demo.py); district None is a city department.
DONGCHENG_OFFICE = Actor(
    10, "dongcheng.zhujian", frozenset({"local_renewal_office"}), "东城区住房和城乡建设局", "dongcheng"
)
LINHE_OFFICE = Actor(11, "linhe.zhujian", frozenset({"local_renewal_office"}), "临河县住房和城乡建设局", "linhe")
OWNER = Actor(12, "owner", frozenset({"applicant"}), "示例城市更新有限公司", None)
OTHER_OWNER = Actor(13, "owner2", frozenset({"applicant"}), "示例旧改投资有限公司", None)
CITY_PLANNING = Actor(20, "city.zrzy", frozenset({"planning_authority"}), "市自然资源和规划局", None)
LINHE_PLANNING = Actor(21, "linhe.zrzy", frozenset({"planning_authority"}), "临河县自然资源和规划局", "linhe")
CITY_GOV = Actor(30, "city.gov", frozenset({"city_gov"}), "市人民政府", None)
DONGCHENG_GOV = Actor(31, "dongcheng.gov", frozenset({"local_gov"}), "东城区人民政府", "dongcheng")
LINHE_GOV = Actor(32, "linhe.gov", frozenset({"local_gov"}), "临河县人民政府", "linhe")
TASK_FORCE = Actor(40, "city.zhuanban", frozenset({"city_task_force"}), "市城市更新工作专班", None)

FIVE_CONTENTS = ("positioning", "control_indicators", "facility_layout", "economics_funding", "phasing")
SIX_CONTENTS = (
    "renewal_approach", "implementation_path", "design_scheme", "construction_scheme",
    "management_mechanism", "operation_plan",
)  # fmt: skip


@cache
def spec_of(name: str) -> WorkflowSpec:
    return load_spec(files("workflows").joinpath(f"{name}.yaml").read_text(encoding="utf-8"), f"{name}.yaml")


@cache
def runner_of(name: str) -> StepRunner:
    return StepRunner(spec_of(name))


def unit_plan_data(district: str = "dongcheng", **overrides: Any) -> dict[str, Any]:
    return {
        "district": district,
        "unit_id": "DC-U-01",
        "special_plan_id": "东政字〔2025〕3号",
        "adjusts_regulatory_plan": False,
        "notice_summary": "收到意见 12 条，采纳 5 条",
        **{name: f"{name} 的内容" for name in FIVE_CONTENTS},
        **overrides,
    }


def implementation_plan_data(district: str = "dongcheng", **overrides: Any) -> dict[str, Any]:
    return {
        "district": district,
        "renewal_type": "residential_improvement",
        "entity_basis": "property_right_holder",
        "tenure_mode": "consent_only",
        "major": False,
        "rebuild_or_alter": False,
        **{name: f"{name} 的内容" for name in SIX_CONTENTS},
        **overrides,
    }


# 公示 ran its 30 days in full: submit's `period_elapsed` is met
TODAY = date(2026, 3, 2)
NOTICE_RAN = StepClock("public_notice", "natural_days", 30, date(2026, 1, 1), due=date(2026, 1, 31))


def unit_case(state: str, district: str = "dongcheng", **overrides: Any) -> Case:
    office = DONGCHENG_OFFICE if district == "dongcheng" else LINHE_OFFICE
    data = unit_plan_data(district, **overrides)
    return Case(state, data, office.user_id, office.organisation, LEVEL[district], clock=NOTICE_RAN, today=TODAY)


def implementation_case(state: str, *, district: str = "dongcheng", **overrides: Any) -> Case:
    data = implementation_plan_data(district, **overrides)
    return Case(state, data, OWNER.user_id, OWNER.organisation, LEVEL[district], clock=NOTICE_RAN, today=TODAY)


def action(actions: list[Action], transition: str) -> Action:
    matching = [a for a in actions if a.transition == transition]
    assert len(matching) == 1, f"{transition} listed {len(matching)} times"
    return matching[0]


# --- available_actions -----------------------------------------------------------------------------------------


def test_central_gov_approval_is_for_the_city_government() -> None:
    case = unit_case("gov_approval", "dongcheng")
    approve = action(available_actions(spec_of("unit_plan"), case, CITY_GOV), "approve")
    assert approve.allowed is True
    assert approve.reason is None
    assert approve.kind == "approve"
    assert [f["name"] for f in approve.fields] == ["approval_doc_no"]


def test_central_gov_approval_is_refused_to_the_district_government_with_a_chinese_reason() -> None:
    case = unit_case("gov_approval", "dongcheng")
    approve = action(available_actions(spec_of("unit_plan"), case, DONGCHENG_GOV), "approve")
    assert approve.allowed is False
    assert approve.reason is not None
    assert "市人民政府" in approve.reason


def test_county_gov_approval_picks_the_local_government_variant() -> None:
    case = unit_case("gov_approval", "linhe")
    actions = available_actions(spec_of("unit_plan"), case, LINHE_GOV)
    assert {a.transition: a.allowed for a in actions} == {
        "approve": True,
        "return": True,
        "reject": True,
        "withdraw": False,
    }
    refused = action(available_actions(spec_of("unit_plan"), case, CITY_GOV), "approve")
    assert refused.allowed is False
    # city.gov would act on the central route: the reason names the route this application is on
    assert refused.reason == "县单元规划由县人民政府批准"
    fired = runner_of("unit_plan").fire(case, LINHE_GOV, "approve", "", {"approval_doc_no": "临政复〔2026〕1号"})
    assert fired.to_state == "awaiting_filing"
    assert fired.transition.target == "awaiting_filing"
    assert fired.transition.by[0].role == "local_gov"
    assert fired.outcome == "approved"


def test_another_districts_government_may_not_approve() -> None:
    case = unit_case("gov_approval", "linhe")
    approve = action(available_actions(spec_of("unit_plan"), case, DONGCHENG_GOV), "approve")
    assert approve.allowed is False
    with pytest.raises(PermissionDenied):
        runner_of("unit_plan").fire(case, DONGCHENG_GOV, "approve", "", {"approval_doc_no": "东政复〔2026〕1号"})


def test_actions_list_each_transition_once_per_state() -> None:
    spec = spec_of("unit_plan")
    actions = available_actions(spec, unit_case("submitted"), CITY_PLANNING)
    leaving = list(dict.fromkeys(t.id for t in spec.transitions_from("submitted")))
    assert [a.transition for a in actions] == leaving
    allowed = {a.transition for a in actions if a.allowed}
    assert allowed == {"accept", "request_supplement", "refuse_acceptance"}
    assert action(actions, "withdraw").reason == "须由申请人办理"


def test_the_applicant_sees_draft_actions() -> None:
    actions = available_actions(spec_of("implementation_plan"), implementation_case("draft"), OWNER)
    assert {a.transition: a.allowed for a in actions} == {"publish_notice": True, "withdraw": True}
    other = available_actions(spec_of("implementation_plan"), implementation_case("draft"), OTHER_OWNER)
    assert {a.transition: a.allowed for a in other} == {"publish_notice": False, "withdraw": False}


def test_a_failing_guard_is_shown_with_its_reason() -> None:
    case = implementation_case(
        "public_notice", rebuild_or_alter=True, total_area=12000, participating_area=8400, agree_area=6200,
        total_owners=180, participating_owners=120, agree_owners=90,
    )  # fmt: skip
    submit = action(available_actions(spec_of("implementation_plan"), case, OWNER), "submit")
    assert submit.allowed is False
    assert submit.reason is not None and "民法典第二百七十八条" in submit.reason


def test_runner_available_actions_matches_the_function() -> None:
    case = unit_case("planning_review", "linhe")
    assert runner_of("unit_plan").available_actions(case, LINHE_PLANNING) == available_actions(
        spec_of("unit_plan"), case, LINHE_PLANNING
    )


# --- fire -------------------------------------------------------------------------------------------------------


def test_fire_central_approval_returns_the_outcome() -> None:
    case = unit_case("gov_approval", "dongcheng")
    fired = runner_of("unit_plan").fire(case, CITY_GOV, "approve", "同意", {"approval_doc_no": "市政复〔2026〕7号"})
    assert (fired.from_state, fired.to_state, fired.outcome) == ("gov_approval", "approved", "approved")
    assert fired.input == {"approval_doc_no": "市政复〔2026〕7号"}
    assert fired.data == {**case.data, "approval_doc_no": "市政复〔2026〕7号"}
    assert fired.facts["level"] == "central"
    assert fired.transition.by[0].role == "city_gov"


def test_fire_keeps_the_outcome_when_the_target_has_none() -> None:
    case = Case("filing_review", unit_plan_data("linhe"), LINHE_OFFICE.user_id, LINHE_OFFICE.organisation,
                "county", outcome="approved")  # fmt: skip
    fired = runner_of("unit_plan").fire(case, TASK_FORCE, "return_filing", "材料不全", {})
    assert (fired.to_state, fired.outcome) == ("awaiting_filing", "approved")
    filed = runner_of("unit_plan").fire(case, TASK_FORCE, "acknowledge_filing", "", {"filing_no": "备 2026-001"})
    assert (filed.to_state, filed.outcome) == ("filed", "filed")


def test_fire_withdraw_is_final() -> None:
    case = unit_case("planning_review")
    fired = runner_of("unit_plan").fire(case, DONGCHENG_OFFICE, "withdraw", "不再推进", {})
    assert (fired.to_state, fired.outcome) == ("withdrawn", "withdrawn")


def test_fire_does_not_change_the_case() -> None:
    case = unit_case("gov_approval")
    before = dict(case.data)
    runner_of("unit_plan").fire(case, CITY_GOV, "approve", "", {"approval_doc_no": "市政复〔2026〕7号"})
    assert case.state == "gov_approval"
    assert dict(case.data) == before


def test_unknown_transition() -> None:
    with pytest.raises(UnknownTransition) as raised:
        runner_of("unit_plan").fire(unit_case("gov_approval"), CITY_GOV, "approve_all", "", {})
    assert raised.value.code == "unknown_transition"
    assert "approve_all" in raised.value.detail


def test_transition_not_allowed_from_the_current_state() -> None:
    with pytest.raises(TransitionNotAllowed) as raised:
        runner_of("unit_plan").fire(unit_case("draft"), CITY_GOV, "approve", "", {"approval_doc_no": "x"})
    assert raised.value.context == {"transition": "approve", "state": "draft"}
    assert "编制中" in raised.value.detail


def test_nothing_leaves_a_final_state() -> None:
    case = Case("approved", unit_plan_data(), DONGCHENG_OFFICE.user_id, DONGCHENG_OFFICE.organisation, "central",
                "approved")  # fmt: skip
    for trigger in sorted({t.id for t in spec_of("unit_plan").transitions}):
        with pytest.raises(TransitionNotAllowed):
            runner_of("unit_plan").fire(case, DONGCHENG_OFFICE, trigger, "意见", {})
    assert available_actions(spec_of("unit_plan"), case, CITY_GOV) == []


@pytest.mark.parametrize(
    ("actor", "reason_part"),
    [
        (DONGCHENG_GOV, "市人民政府"),  # wrong jurisdiction
        (CITY_PLANNING, "市人民政府"),  # wrong role
        (DONGCHENG_OFFICE, "市人民政府"),  # the applicant
    ],
)
def test_permission_denied_for_the_wrong_role_or_jurisdiction(actor: Actor, reason_part: str) -> None:
    with pytest.raises(PermissionDenied) as raised:
        runner_of("unit_plan").fire(unit_case("gov_approval"), actor, "approve", "", {"approval_doc_no": "x"})
    assert reason_part in raised.value.detail
    assert raised.value.code == "permission_denied"


def test_permission_is_checked_before_data() -> None:
    with pytest.raises(PermissionDenied):
        runner_of("unit_plan").fire(unit_case("gov_approval"), CITY_PLANNING, "approve", "", {"bogus": 1})


def test_district_jurisdiction_needs_the_applications_own_district() -> None:
    case = unit_case("submitted", "linhe")
    accept = action(available_actions(spec_of("unit_plan"), case, LINHE_PLANNING), "accept")
    assert accept.allowed is True
    fired = runner_of("unit_plan").fire(case, LINHE_PLANNING, "accept", "", {})
    assert fired.to_state == "planning_review"
    # the city authority accepts only central applications
    with pytest.raises(PermissionDenied):
        runner_of("unit_plan").fire(case, CITY_PLANNING, "accept", "", {})
    with pytest.raises(PermissionDenied):
        runner_of("unit_plan").fire(unit_case("submitted", "dongcheng"), LINHE_PLANNING, "accept", "", {})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"approval_doc_no": "市政复〔2026〕7号", "review_opinion": "同意"}, "review_opinion"),  # undeclared here
        ({"approval_doc_no": "市政复〔2026〕7号", "district": "linhe"}, "district"),  # a form field, not an input
        ({"approval_doc_no": 7}, "approval_doc_no"),  # wrong type
        ({"approval_doc_no": ""}, "approval_doc_no"),  # required, blank
        ({}, "approval_doc_no"),  # required, missing
    ],
)
def test_invalid_input_data(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidData) as raised:
        runner_of("unit_plan").fire(unit_case("gov_approval"), CITY_GOV, "approve", "", data)
    assert raised.value.context["field"] == field
    assert field in raised.value.detail


def test_list_field_needs_text_items() -> None:
    runner = runner_of("unit_plan")
    with pytest.raises(InvalidData):
        runner.fire(unit_case("submitted"), CITY_PLANNING, "request_supplement", "", {"items": "权属证明"})
    with pytest.raises(InvalidData):
        runner.fire(unit_case("submitted"), CITY_PLANNING, "request_supplement", "", {"items": []})
    fired = runner.fire(unit_case("submitted"), CITY_PLANNING, "request_supplement", "", {"items": ["权属证明"]})
    assert fired.to_state == "supplement_pending"


@pytest.mark.parametrize("comment", ["", "   \n"])
def test_missing_required_comment(comment: str) -> None:
    with pytest.raises(InvalidData) as raised:
        runner_of("unit_plan").fire(unit_case("gov_approval"), CITY_GOV, "reject", comment, {})
    assert raised.value.context["field"] == "comment"
    assert "意见" in raised.value.detail
    fired = runner_of("unit_plan").fire(unit_case("gov_approval"), CITY_GOV, "reject", "不符合专项规划", {})
    assert (fired.to_state, fired.outcome) == ("rejected", "rejected")


def test_required_form_fields_are_checked_on_the_case_data() -> None:
    case = unit_case("draft", positioning="")
    with pytest.raises(InvalidData) as raised:
        runner_of("unit_plan").fire(case, DONGCHENG_OFFICE, "publish_notice", "", {})
    assert raised.value.context["field"] == "positioning"
    assert "单元发展定位" in raised.value.detail


CONSENT_TOO_LOW: dict[str, Any] = {
    "rebuild_or_alter": True,
    "total_area": 12000,
    "participating_area": 8400,
    "agree_area": 6200,  # 6200 / 8400 < 3/4
    "total_owners": 180,
    "participating_owners": 120,
    "agree_owners": 90,
}


def test_guard_failed_when_consent_is_too_low() -> None:
    case = implementation_case("public_notice", **CONSENT_TOO_LOW)
    with pytest.raises(GuardFailed) as raised:
        runner_of("implementation_plan").fire(case, OWNER, "submit", "", {})
    assert raised.value.code == "guard_failed"
    assert "民法典第二百七十八条" in raised.value.detail
    assert raised.value.context["transition"] == "submit"


def test_submit_passes_at_exactly_three_quarters() -> None:
    case = implementation_case("public_notice", **{**CONSENT_TOO_LOW, "agree_area": 6300})
    fired = runner_of("implementation_plan").fire(case, OWNER, "submit", "", {})
    assert fired.to_state == "submitted"


def test_submit_waits_for_the_notice_period() -> None:
    running = StepClock("public_notice", "natural_days", 30, date(2026, 2, 20), due=date(2026, 3, 22))
    case = replace(unit_case("public_notice"), clock=running)
    submit = action(available_actions(spec_of("unit_plan"), case, DONGCHENG_OFFICE), "submit")
    assert submit.allowed is False
    assert submit.reason is not None and "2026-03-22" in submit.reason
    with pytest.raises(GuardFailed):
        runner_of("unit_plan").fire(case, DONGCHENG_OFFICE, "submit", "", {})
    on_the_day = replace(case, today=date(2026, 3, 22))
    assert runner_of("unit_plan").fire(on_the_day, DONGCHENG_OFFICE, "submit", "", {}).to_state == "submitted"


def test_guard_over_a_boolean_field() -> None:
    runner = runner_of("unit_plan")
    with pytest.raises(GuardFailed) as raised:
        runner.fire(unit_case("public_notice", adjusts_regulatory_plan=True), DONGCHENG_OFFICE, "submit", "", {})
    assert "控规调整批准文件" in raised.value.detail
    case = unit_case("public_notice", adjusts_regulatory_plan=True, regulatory_plan_adjustment_ref="东规调〔2026〕2号")
    assert runner.fire(case, DONGCHENG_OFFICE, "submit", "", {}).to_state == "submitted"


@pytest.mark.parametrize(
    ("overrides", "actor", "target"),
    [
        ({}, DONGCHENG_OFFICE, "local_review"),
        ({"major": True}, TASK_FORCE, "task_force_review"),
        ({"cross_district": True}, TASK_FORCE, "task_force_review"),
    ],
)
def test_implementation_plan_accept_routes(overrides: dict[str, Any], actor: Actor, target: str) -> None:
    case = implementation_case("submitted", **overrides)
    assert runner_of("implementation_plan").fire(case, actor, "accept", "", {}).to_state == target


def test_the_applicant_user_may_not_review_their_own_application() -> None:
    # the same user also holds the reviewing role in the reviewing department
    reviewer = Actor(DONGCHENG_OFFICE.user_id, "dongcheng.zhujian", frozenset({"local_renewal_office"}),
                     "东城区住房和城乡建设局", "dongcheng")  # fmt: skip
    case = Case("submitted", implementation_plan_data(), reviewer.user_id, OWNER.organisation, "central")
    accept = action(available_actions(spec_of("implementation_plan"), case, reviewer), "accept")
    assert accept.allowed is False
    assert accept.reason == "申请人不得审查、审批或备案本人提交的申请"
    with pytest.raises(PermissionDenied) as raised:
        runner_of("implementation_plan").fire(case, reviewer, "accept", "", {})
    assert "本人" in raised.value.detail
    # a colleague in the same department may
    colleague = Actor(99, "dongcheng.zhujian2", reviewer.roles, reviewer.organisation, "dongcheng")
    assert runner_of("implementation_plan").fire(case, colleague, "accept", "", {}).to_state == "local_review"


def test_whoever_submitted_may_not_review_even_if_someone_else_created_it() -> None:
    submitted = runner_of("implementation_plan").fire(implementation_case("public_notice"), OWNER, "submit", "", {})
    assert submitted.data["submitted_by"] == [OWNER.user_id]
    # a user holding both the applicant's and the reviewer's roles submitted a colleague's draft
    both = Actor(77, "dongcheng.both", frozenset({"local_renewal_office"}), "东城区住房和城乡建设局", "dongcheng")
    case = implementation_case("submitted", submitted_by=[both.user_id])
    accept = action(available_actions(spec_of("implementation_plan"), case, both), "accept")
    assert (accept.allowed, accept.reason) == (False, "申请人不得审查、审批或备案本人提交的申请")
    with pytest.raises(PermissionDenied):
        runner_of("implementation_plan").fire(case, both, "accept", "", {})


def test_a_client_cannot_write_the_submitters() -> None:
    with pytest.raises(InvalidData):
        runner_of("implementation_plan").fire(implementation_case("public_notice"), OWNER, "submit", "",
                                              {"submitted_by": []})  # fmt: skip


def test_separation_of_duties_does_not_stop_the_applicants_own_steps() -> None:
    case = implementation_case("local_review_supplement")
    assert runner_of("implementation_plan").fire(case, OWNER, "supplement", "", {}).to_state == "local_review"


def test_every_refusal_is_a_greenlane_error() -> None:
    for error in (UnknownTransition, TransitionNotAllowed, PermissionDenied, InvalidData, GuardFailed):
        assert issubclass(error, GreenlaneError)


# --- check_initiator -------------------------------------------------------------------------------------------


def test_check_initiator_accepts_the_districts_renewal_office() -> None:
    check_initiator(spec_of("unit_plan"), DONGCHENG_OFFICE, unit_plan_data("dongcheng"))
    check_initiator(spec_of("unit_plan"), LINHE_OFFICE, unit_plan_data("linhe"))
    check_initiator(spec_of("implementation_plan"), OWNER, implementation_plan_data())


@pytest.mark.parametrize(
    ("workflow", "actor", "data"),
    [
        ("unit_plan", CITY_PLANNING, unit_plan_data("dongcheng")),  # wrong role
        ("unit_plan", OWNER, unit_plan_data("dongcheng")),  # wrong role
        ("unit_plan", LINHE_OFFICE, unit_plan_data("dongcheng")),  # another district
        ("implementation_plan", DONGCHENG_GOV, implementation_plan_data()),
    ],
)
def test_check_initiator_refuses(workflow: str, actor: Actor, data: dict[str, Any]) -> None:
    spec = spec_of(workflow)
    with pytest.raises(PermissionDenied) as raised:
        check_initiator(spec, actor, data)
    assert raised.value.detail.startswith(f"「{spec.title}」须由")
    assert raised.value.context == {"workflow": workflow}


# --- StepRunner.next_state and threads ------------------------------------------------------------------------


def test_next_state_follows_the_guard() -> None:
    runner = runner_of("unit_plan")
    assert runner.next_state("gov_approval", "approve", {"level": "central"}) == "approved"
    assert runner.next_state("gov_approval", "approve", {"level": "county"}) == "awaiting_filing"
    with pytest.raises(GuardFailed):
        runner.next_state("gov_approval", "approve", {"level": None})
    with pytest.raises(GuardFailed):
        runner.next_state("draft", "approve", {"level": "central"})
    assert runner._machine.models == []


STEPS: list[tuple[str, str, dict[str, Any], str]] = [
    ("draft", "publish_notice", {}, "public_notice"),
    ("public_notice", "submit", {"adjusts_regulatory_plan": False}, "submitted"),
    ("submitted", "accept", {"level": "central"}, "planning_review"),
    ("submitted", "accept", {"level": "county"}, "planning_review"),
    ("submitted", "request_supplement", {"level": "county"}, "supplement_pending"),
    ("planning_review", "request_supplement", {"level": "central"}, "planning_review_supplement"),
    ("planning_review", "pass_review", {"level": "county"}, "gov_approval"),
    ("gov_approval", "approve", {"level": "central"}, "approved"),
    ("gov_approval", "approve", {"level": "county"}, "awaiting_filing"),
    ("gov_approval", "return", {"level": "county", "target": "planning_review"}, "planning_review"),
    ("gov_approval", "return", {"level": "central", "target": "draft"}, "draft"),
    ("filing_review", "acknowledge_filing", {}, "filed"),
    ("filing_review", "return_filing", {}, "awaiting_filing"),
    ("supplement_pending", "withdraw", {}, "withdrawn"),
]


def test_shared_runner_across_threads() -> None:
    runner = StepRunner(spec_of("unit_plan"))
    start = threading.Barrier(8)

    def work(worker: int) -> list[tuple[int, str, str]]:
        start.wait()
        wrong = []
        for i in range(200):
            current, trigger, facts, expected = STEPS[(worker * 7 + i) % len(STEPS)]
            got = runner.next_state(current, trigger, facts)
            if got != expected:
                wrong.append((i, f"{current}.{trigger}", got))
        return wrong

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[] for _ in range(8)]
    assert runner._machine.models == []


def test_shared_runner_fire_across_threads() -> None:
    runner = StepRunner(spec_of("unit_plan"))
    cases = [
        (unit_case("gov_approval", "dongcheng"), CITY_GOV, "approve", {"approval_doc_no": "市政复1"}, "approved"),
        (unit_case("gov_approval", "linhe"), LINHE_GOV, "approve", {"approval_doc_no": "临政复1"}, "awaiting_filing"),
        (unit_case("submitted", "linhe"), LINHE_PLANNING, "accept", {}, "planning_review"),
        (unit_case("draft", "linhe"), LINHE_OFFICE, "publish_notice", {}, "public_notice"),
    ]
    start = threading.Barrier(8)

    def work(worker: int) -> int:
        start.wait()
        wrong = 0
        for i in range(100):
            case, actor, trigger, data, expected = cases[(worker + i) % len(cases)]
            wrong += runner.fire(case, actor, trigger, "意见", data).to_state != expected
            with pytest.raises(UnknownTransition):
                runner.fire(case, actor, "no_such_step", "", {})
        return wrong

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(work, range(8))) == [0] * 8
    assert runner._machine.models == []


def test_a_second_supplement_notice_on_the_same_step_needs_a_reason() -> None:
    """一次性告知 (PROCESS.md §4.3): every notice records its items; the second one must say why."""
    runner = runner_of("unit_plan")
    compiler = DONGCHENG_OFFICE
    first = runner.fire(
        unit_case("submitted"), CITY_PLANNING, "request_supplement", "", {"items": ["权属证明", "图例"]}
    )
    assert first.notice is not None and first.notice["number"] == 1
    assert first.data["supplement_notices"] == [first.notice]
    back = runner.fire(replace(unit_case("supplement_pending"), data=first.data), compiler, "supplement", "", {})
    assert back.data["supplement_notices"] == [first.notice]  # the same step: still on record
    again = replace(unit_case("submitted"), data=back.data)
    with pytest.raises(InvalidData) as refused:
        runner.fire(again, CITY_PLANNING, "request_supplement", "", {"items": ["图例"], "repeat_reason": "  "})
    assert refused.value.context["field"] == "repeat_reason" and "权属证明、图例" in refused.value.detail
    items = {"items": ["图例", "新交的权属证明未盖章"], "repeat_reason": "首次告知的图例仍未补正"}
    second = runner.fire(again, CITY_PLANNING, "request_supplement", "", items)
    assert second.notice is not None and second.notice["number"] == 2
    assert (second.notice["repeated_items"], second.notice["new_items"]) == (["图例"], ["新交的权属证明未盖章"])
    # accepting ends the step: a notice in review starts afresh, and nothing is left on record
    accepted = runner.fire(replace(unit_case("submitted"), data=back.data), CITY_PLANNING, "accept", "", {})
    assert "supplement_notices" not in accepted.data


def test_clients_cannot_write_the_notice_record() -> None:
    runner = runner_of("unit_plan")
    with pytest.raises(InvalidData):
        runner.fire(unit_case("submitted"), CITY_PLANNING, "request_supplement", "",
                    {"items": ["x"], "supplement_notices": []})  # fmt: skip
