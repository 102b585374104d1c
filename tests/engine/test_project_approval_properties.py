"""绿色通道: any sequence of attempts keeps a joint review consistent and never strands an application."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from importlib.resources import files
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import GreenlaneError
from engine.loading import load_spec
from engine.runner import SYSTEM_ACTOR, Actor, Case, StepRunner, available_actions

RUNNER = StepRunner(load_spec(files("workflows").joinpath("project_approval.yaml").read_text(encoding="utf-8")))
SPEC = RUNNER.spec
OWNER = Actor(12, "owner", frozenset({"applicant"}), "demo_renewal_co", None)
ACTORS = [
    OWNER,
    Actor(41, "city.zhujian", frozenset({"housing_authority"}), "city_zhujian", None),
    Actor(42, "city.fagai", frozenset({"development_reform"}), "city_fagai", None),
    Actor(20, "city.zrzy", frozenset({"planning_authority"}), "city_zrzy", None),
    Actor(31, "dongcheng.gov", frozenset({"local_gov"}), "dongcheng_gov", "dongcheng"),
]
INPUT: dict[str, Any] = {  # enough for every transition's required fields; extra keys are dropped per step
    "items": ["补充材料"], "initiation_doc_no": "X", "land_doc_no": "L", "planning_permit_no": "P",
    "drawing_review_cert": "C", "permit_no": "SG", "rectify_by": "2026-07-01", "rectification_items": ["整改"],
    "commitment_text": "承诺", "meets_conditions": True, "materials_true": True, "accepts_verification": True,
    "liable_if_false": True,
}  # fmt: skip


def _step(case: Case, actor: Actor, trigger: str) -> Case:
    candidates = [t for t in SPEC.transitions_from(case.state) if t.id == trigger]
    wanted = {f.name for t in candidates for f in t.fields}
    data = {k: v for k, v in INPUT.items() if k in wanted}
    fired = RUNNER.fire(case, actor, trigger, "意见", data)
    case = replace(case, state=fired.to_state, data=fired.data, outcome=fired.outcome, joint=fired.joint)
    if fired.joint_complete:  # what the service does in the same transaction
        joint = SPEC.states_by_id[fired.to_state].joint
        assert joint is not None
        return _step(case, SYSTEM_ACTOR, joint.then)
    return case


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes_land=st.booleans(),
    low_risk=st.booleans(),
    changes_structure=st.booleans(),
    commitment=st.booleans(),
    barred=st.booleans(),
    unrepaired=st.booleans(),
    attempts=st.lists(
        st.tuples(st.sampled_from(ACTORS), st.sampled_from(sorted({t.id for t in SPEC.transitions}))), max_size=40
    ),
)
def test_no_application_is_stranded_and_branches_decide_once(
    changes_land: bool, low_risk: bool, changes_structure: bool, commitment: bool, barred: bool, unrepaired: bool,
    attempts: list[tuple[Actor, str]],
) -> None:  # fmt: skip
    data = {"district": "dongcheng", "implementation_plan_id": "P-1", "changes_land": changes_land,
            "existing_land_docs": ["LC-1"], "changes_structure": changes_structure, "low_risk": low_risk,
            "commitment": commitment}  # fmt: skip
    case = Case("draft", data, OWNER.user_id, OWNER.organisation, level="central", today=date(2026, 6, 2),
                barred_until=date(2027, 6, 2) if barred else None, credit_unrepaired=unrepaired)  # fmt: skip
    for actor, trigger in attempts:
        try:
            case = _step(case, actor, trigger)
        except GreenlaneError:
            continue  # a refusal changes nothing
        assert case.state in SPEC.states_by_id
        if barred or unrepaired:  # a barred organisation never gets a permit on its commitment
            assert case.state not in ("commitment_permit", "post_check", "rectifying", "check_passed", "revoked")
        if case.state == "joint_review":
            assert case.joint is not None and case.joint["land"]["status"] == ("pending" if changes_land else "skipped")
            assert any(branch["status"] == "pending" for branch in case.joint.values())
        if SPEC.states_by_id[case.state].final:
            break
        anyone = any(a.allowed for actor in [*ACTORS, SYSTEM_ACTOR] for a in available_actions(SPEC, case, actor))
        assert anyone, f"stranded in {case.state}"
