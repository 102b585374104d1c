"""Properties of the bundled workflows under any sequence of (actor, transition) attempts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.deadlines import StepClock
from engine.errors import GreenlaneError, TransitionNotAllowed, UnknownTransition
from engine.loading import load_spec
from engine.runner import Actor, Case, StepRunner
from engine.spec import FieldSpec, WorkflowSpec

LEVEL = {"dongcheng": "central", "linhe": "county"}

DONGCHENG_OFFICE = Actor(
    10, "dongcheng.zhujian", frozenset({"local_renewal_office"}), "东城区住房和城乡建设局", "dongcheng"
)
LINHE_OFFICE = Actor(11, "linhe.zhujian", frozenset({"local_renewal_office"}), "临河县住房和城乡建设局", "linhe")
OWNER = Actor(12, "owner", frozenset({"applicant"}), "示例城市更新有限公司", None)
ACTORS: list[Actor] = [
    DONGCHENG_OFFICE,
    LINHE_OFFICE,
    OWNER,
    Actor(13, "owner2", frozenset({"applicant"}), "示例旧改投资有限公司", None),
    Actor(20, "city.zrzy", frozenset({"planning_authority"}), "市自然资源和规划局", None),
    Actor(21, "linhe.zrzy", frozenset({"planning_authority"}), "临河县自然资源和规划局", "linhe"),
    Actor(30, "city.gov", frozenset({"city_gov"}), "市人民政府", None),
    Actor(31, "dongcheng.gov", frozenset({"local_gov"}), "东城区人民政府", "dongcheng"),
    Actor(32, "linhe.gov", frozenset({"local_gov"}), "临河县人民政府", "linhe"),
    Actor(40, "city.zhuanban", frozenset({"city_task_force"}), "市城市更新工作专班", None),
    Actor(41, "city.zhujian", frozenset({"housing_authority"}), "市住房和城乡建设局", None),
    Actor(1, "admin", frozenset({"admin"}), "系统管理员", None),
    Actor(2, "system", frozenset({"system"}), "系统", None),
]
# every period (公示) has run in full, so only roles, data and guards decide
TODAY = date(2026, 3, 2)
PERIOD_RAN = StepClock("public_notice", "natural_days", 30, date(2026, 1, 1), due=date(2026, 1, 31))

FIVE_CONTENTS = ("positioning", "control_indicators", "facility_layout", "economics_funding", "phasing")
SIX_CONTENTS = (
    "renewal_approach", "implementation_path", "design_scheme", "construction_scheme",
    "management_mechanism", "operation_plan",
)  # fmt: skip
CONSENT = {
    "total_area": 12000,
    "participating_area": 8400,
    "agree_area": 6300,
    "total_owners": 180,
    "participating_owners": 120,
    "agree_owners": 90,
}


@cache
def runner_of(name: str) -> StepRunner:
    return StepRunner(load_spec(files("workflows").joinpath(f"{name}.yaml").read_text(encoding="utf-8")))


def unit_plan_case(district: str, adjusts: bool) -> Case:
    applicant = DONGCHENG_OFFICE if district == "dongcheng" else LINHE_OFFICE
    data: dict[str, Any] = {
        "district": district,
        "special_plan_id": "东政字〔2025〕3号",
        "adjusts_regulatory_plan": adjusts,
        "notice_summary": "收到意见 12 条，采纳 5 条",
        **{name: f"{name} 的内容" for name in FIVE_CONTENTS},
    }
    if adjusts:
        data["regulatory_plan_adjustment_ref"] = "规调〔2026〕2号"
    return Case("draft", data, applicant.user_id, applicant.organisation, LEVEL[district], None, PERIOD_RAN, TODAY)


def implementation_plan_case(district: str, route: str, rebuild: bool) -> Case:
    data: dict[str, Any] = {
        "district": district,
        "renewal_type": "residential_improvement",
        "entity_basis": "property_right_holder",
        "tenure_mode": "consent_only",
        "major": route == "major",
        "cross_district": route == "cross_district",
        "city_level": route == "city_level",
        "rebuild_or_alter": rebuild,
        **{name: f"{name} 的内容" for name in SIX_CONTENTS},
        **(CONSENT if rebuild else {}),
    }
    return Case("draft", data, OWNER.user_id, OWNER.organisation, LEVEL[district], None, PERIOD_RAN, TODAY)


def after(case: Case, state: str, data: dict[str, Any], outcome: str | None) -> Case:
    """The case as the service would store it after a transition (the clock is left as it was)."""
    return replace(case, state=state, data=data, outcome=outcome)


def sample(field: FieldSpec) -> object:
    values: dict[str, object] = {
        "string": "市政复〔2026〕1号",
        "text": "同意",
        "integer": 1,
        "number": 1,
        "boolean": True,
        "date": "2026-03-02",
        "reference": "文号〔2026〕1号",
        "list": ["权属证明"],
    }
    return field.enum[0] if field.type == "enum" and field.enum else values[field.type]


def input_for(spec: WorkflowSpec, state: str, trigger: str) -> dict[str, object]:
    """Values for every input field the transition declares from ``state`` (none when it does not leave it)."""
    candidates = [t for t in spec.transitions_from(state) if t.id == trigger]
    return {f.name: sample(f) for f in candidates[0].fields} if candidates else {}


cases = st.one_of(
    st.builds(unit_plan_case, st.sampled_from(sorted(LEVEL)), st.booleans()).map(lambda c: ("unit_plan", c)),
    st.builds(
        implementation_plan_case,
        st.sampled_from(sorted(LEVEL)),
        st.sampled_from(["local", "major", "cross_district", "city_level"]),
        st.booleans(),
    ).map(lambda c: ("implementation_plan", c)),
)

# Each step is either an arbitrary attempt (an actor and any trigger name, known or not), or a guided one
# that picks among the actions currently allowed to someone, so that deep states are reached too.
TRIGGERS = sorted({t.id for name in ("unit_plan", "implementation_plan") for t in runner_of(name).spec.transitions})
attempts = st.tuples(st.integers(0, len(ACTORS) - 1), st.sampled_from([*TRIGGERS, "approve_everything"]))
steps = st.lists(st.one_of(attempts.map(lambda a: ("any", a)), st.integers(0, 1000).map(lambda i: ("guided", i))))


def allowed_pairs(runner: StepRunner, case: Case) -> list[tuple[Actor, str]]:
    return [(actor, a.transition) for actor in ACTORS for a in runner.available_actions(case, actor) if a.allowed]


def step(runner: StepRunner, case: Case, actor: Actor, trigger: str) -> Case:
    spec = runner.spec
    was_final = spec.states_by_id[case.state].final
    try:
        fired = runner.fire(case, actor, trigger, "意见", input_for(spec, case.state, trigger))
    except GreenlaneError as refusal:
        if was_final:
            assert isinstance(refusal, TransitionNotAllowed | UnknownTransition), refusal
        if trigger not in {t.id for t in spec.transitions}:
            assert isinstance(refusal, UnknownTransition), refusal
        return case
    assert not was_final, f"{trigger} left the final state {case.state}"
    assert fired.from_state == case.state
    assert case.state in fired.transition.source
    assert fired.to_state == fired.transition.target
    target = spec.states_by_id[fired.to_state]
    assert fired.outcome == (target.outcome or case.outcome)
    return after(case, fired.to_state, fired.data, fired.outcome)


def check_state(runner: StepRunner, case: Case) -> None:
    spec = runner.spec
    assert case.state in spec.states_by_id
    state = spec.states_by_id[case.state]
    pairs = allowed_pairs(runner, case)
    if state.final:
        assert all(not runner.available_actions(case, actor) for actor in ACTORS)
    else:
        assert pairs, f"nobody may act in the non-final state {case.state}"


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(cases, steps)
def test_random_walks_stay_in_declared_states_and_never_get_stuck(
    start: tuple[str, Case], plan: list[tuple[str, Any]]
) -> None:
    runner = runner_of(start[0])
    case = start[1]
    check_state(runner, case)
    for mode, choice in plan:
        if mode == "guided":
            pairs = allowed_pairs(runner, case)
            if not pairs:
                continue
            actor, trigger = pairs[choice % len(pairs)]
        else:
            actor, trigger = ACTORS[choice[0]], choice[1]
        case = step(runner, case, actor, trigger)
        check_state(runner, case)
    assert runner._machine.models == []


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(cases, st.lists(st.integers(0, 1000), max_size=40))
def test_an_allowed_action_can_be_fired(start: tuple[str, Case], choices: list[int]) -> None:
    """What available_actions offers, fire accepts when given the data it asks for."""
    runner = runner_of(start[0])
    case = start[1]
    for choice in choices:
        pairs = allowed_pairs(runner, case)
        if not pairs:
            assert runner.spec.states_by_id[case.state].final
            break
        actor, trigger = pairs[choice % len(pairs)]
        fired = runner.fire(case, actor, trigger, "意见", input_for(runner.spec, case.state, trigger))
        case = after(case, fired.to_state, fired.data, fired.outcome)
        assert case.state in runner.spec.states_by_id


def test_the_guided_walk_can_reach_every_final_state() -> None:
    """A deterministic check that the property tests are not vacuous: each outcome is reachable."""
    reached: dict[str, set[str]] = {}
    for name, case in [
        ("unit_plan", unit_plan_case("dongcheng", False)),
        ("unit_plan", unit_plan_case("linhe", False)),
        ("implementation_plan", implementation_plan_case("dongcheng", "local", True)),
        ("implementation_plan", implementation_plan_case("linhe", "major", False)),
    ]:
        runner = runner_of(name)
        frontier = [case]
        seen: set[str] = set()
        while frontier:
            current = frontier.pop()
            if current.state in seen:
                continue
            seen.add(current.state)
            for actor, trigger in allowed_pairs(runner, current):
                fired = runner.fire(current, actor, trigger, "意见", input_for(runner.spec, current.state, trigger))
                frontier.append(after(current, fired.to_state, fired.data, fired.outcome))
        reached.setdefault(name, set()).update(seen)
    assert {"approved", "filed", "rejected", "withdrawn"} <= reached["unit_plan"]
    assert reached["unit_plan"] == {s.id for s in runner_of("unit_plan").spec.states}
    assert reached["implementation_plan"] == {s.id for s in runner_of("implementation_plan").spec.states}
