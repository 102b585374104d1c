"""Run a WorkflowSpec: who may do what now, and what firing a transition yields.

The `transitions` library computes the next state; permissions, data and requirements are
checked here first. Nothing in this module writes anywhere: the service layer persists.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import product
from typing import Any

from transitions import EventData, Machine

from engine.case import ROUTING_FACTS, SYSTEM_ACTOR, Actor, Case, matches
from engine.errors import GuardFailed, InvalidData, PermissionDenied, TransitionNotAllowed, UnknownTransition
from engine.forms import MATERIALS_KEY, NOTICES_KEY, SUBMITTERS_KEY, clean_data, is_blank
from engine.joint_review import joint_opinions, joint_step
from engine.roles import LEVELS, ROLE_TITLES
from engine.spec import REVIEW_KINDS, ActorRule, FieldSpec, TransitionSpec, WorkflowSpec
from engine.supplement_notices import earlier_notices, next_notices

__all__ = ["ROUTING_FACTS", "SYSTEM_ACTOR", "Action", "Actor", "Case", "Fired", "StepRunner", "available_actions",
           "check_initiator", "joint_opinions"]  # fmt: skip


@dataclass(frozen=True)
class Action:
    transition: str
    title: str
    kind: str
    allowed: bool
    reason: str | None
    fields: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Fired:
    """What firing a transition yields, for the service to persist and audit."""

    transition: TransitionSpec
    from_state: str
    to_state: str
    outcome: str | None
    input: dict[str, Any]
    data: dict[str, Any]
    facts: dict[str, Any]
    joint: dict[str, dict[str, Any]] | None = None
    joint_complete: bool = False  # every branch approved or skipped: the system fires the state's `then`
    # a joint reviewer's 补正 or rejection sends the application back: every reviewer's opinion so far
    joint_opinions: list[dict[str, Any]] | None = None
    notice: dict[str, Any] | None = None  # the 补正 notice this transition gave (一次性告知)


class _Cursor:
    """What `transitions` mutates: plain and short-lived, never a database row."""

    state: str

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self.facts = facts

    def trigger(self, name: str) -> bool:
        raise NotImplementedError  # bound by transitions

    def may_trigger(self, name: str) -> bool:
        raise NotImplementedError  # bound by transitions


class StepRunner:
    """One compiled Machine per workflow version, shared by every request thread."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self._machine = Machine(
            model=None,
            states=[state.id for state in spec.states],
            transitions=[_machine_transition(t) for t in spec.transitions],
            initial=spec.initial,
            auto_transitions=False,  # no to_<state>() back doors
            model_override=True,  # bind only what _Cursor declares
            send_event=True,  # guards receive EventData
        )
        self._lock = threading.Lock()  # Machine is not thread-safe

    def next_state(self, current: str, trigger: str, facts: Mapping[str, Any]) -> str:
        cursor = _Cursor(facts)
        with self._lock:
            self._machine.add_model(cursor, initial=current)
            try:
                if not cursor.may_trigger(trigger) or not cursor.trigger(trigger):
                    raise GuardFailed(f"事项 '{trigger}' 的办理条件不满足", transition=trigger)
                return cursor.state
            finally:
                self._machine.remove_model(cursor)

    def available_actions(self, case: Case, actor: Actor) -> list[Action]:
        return available_actions(self.spec, case, actor)

    def fire(self, case: Case, actor: Actor, trigger: str, comment: str, data: Mapping[str, Any]) -> Fired:
        """Check and fire ``trigger``; raises UnknownTransition, TransitionNotAllowed,
        PermissionDenied, InvalidData or GuardFailed, and changes nothing."""
        candidates = _candidates(self.spec, case.state, trigger)
        first = candidates[0]
        permitted = [c for c in candidates if _refusal(c, case, actor) is None]
        if not permitted:
            raise PermissionDenied(_refusal(first, case, actor), transition=trigger)
        cleaned = clean_data(_editable_fields(self.spec, first), data, materials=self.spec.materials)
        facts = case.facts(cleaned)
        holding = [c for c in candidates if c.condition is None or c.condition.evaluate(facts)]
        if not holding:
            raise GuardFailed(_condition_reason(first), transition=trigger, condition=first.when)
        chosen = holding[0]
        if (refusal := _refusal(chosen, case, actor)) is not None:
            raise PermissionDenied(refusal, transition=trigger)
        if (early := _state_refusal(self.spec, chosen, case)) is not None:
            raise GuardFailed(early, transition=trigger)
        merged = {**case.data, **cleaned}
        _check_requirements(self.spec, chosen, comment, merged)
        _check_due_date(chosen, cleaned, case)
        to_state = self.next_state(case.state, trigger, facts)
        notices, notice = next_notices(case, chosen, to_state, cleaned, actor)
        merged = {key: value for key, value in merged.items() if key != NOTICES_KEY} | (
            {NOTICES_KEY: notices} if notices else {}
        )
        if chosen.kind == "submit":
            merged[SUBMITTERS_KEY] = sorted({*submitters(case), actor.user_id})
        outcome = self.spec.states_by_id[to_state].outcome or case.outcome
        joint = joint_step(self.spec, case, chosen, to_state, facts, actor, comment, cleaned)
        return Fired(chosen, case.state, to_state, outcome, cleaned, merged, facts, *joint, notice=notice)


def _editable_fields(spec: WorkflowSpec, transition: TransitionSpec) -> list[FieldSpec]:
    """The transition's own fields; submitting or supplementing may also correct the form."""
    if transition.kind in ("submit", "supplement"):
        # a 补正 corrects the file, not the route: who reviews it was fixed when it was submitted
        fixed = ROUTING_FACTS if transition.kind == "supplement" else frozenset()
        form = [field.model_copy(update={"required": False}) for field in spec.fields if field.name not in fixed]
        return [*transition.fields, *form]
    return list(transition.fields)


def _machine_transition(transition: TransitionSpec) -> dict[str, Any]:
    condition = transition.condition

    def guard(event: EventData) -> bool:
        cursor: _Cursor = event.model  # type: ignore[assignment]  # transitions types models as object
        return condition is None or condition.evaluate(cursor.facts)

    guard.__name__ = f"holds_{transition.id}"
    return {"trigger": transition.id, "source": transition.source, "dest": transition.target, "conditions": [guard]}


def _candidates(spec: WorkflowSpec, state: str, trigger: str) -> list[TransitionSpec]:
    if not any(t.id == trigger for t in spec.transitions):
        raise UnknownTransition(f"工作流 '{spec.key}' 中没有办理事项 '{trigger}'", transition=trigger)
    candidates = [t for t in spec.transitions_from(state) if t.id == trigger]
    if not candidates:
        title = spec.states_by_id[state].title
        raise TransitionNotAllowed(f"当前状态「{title}」下不能办理 '{trigger}'", transition=trigger, state=state)
    return candidates


def available_actions(spec: WorkflowSpec, case: Case, actor: Actor) -> list[Action]:
    """Every transition leaving the current state, with whether ``actor`` may fire it now and why not."""
    grouped: dict[str, list[TransitionSpec]] = {}
    for transition in spec.transitions_from(case.state):
        grouped.setdefault(transition.id, []).append(transition)
    return [_action(spec, candidates, case, actor) for candidates in grouped.values()]


def _action(spec: WorkflowSpec, candidates: list[TransitionSpec], case: Case, actor: Actor) -> Action:
    facts = case.facts()
    holding = [c for c in candidates if _may_hold(c, facts)]
    chosen = holding[0] if holding else candidates[0]
    reason = _refusal(chosen, case, actor)
    if reason is not None and chosen.when_reason and any(_refusal(c, case, actor) is None for c in candidates):
        reason = chosen.when_reason  # the actor acts on the other route: say which route this one is on
    if reason is None and not holding:
        reason = _condition_reason(chosen)
    if reason is None:
        reason = _state_refusal(spec, chosen, case)
    fields = [f.model_dump(mode="json", exclude_none=True) for f in chosen.fields]
    notice = chosen.one_time_notice
    if notice is not None and earlier_notices(case):  # a second notice on this step: the reason is asked for
        fields = [{**f, "required": True} if f["name"] == notice.repeat_reason else f for f in fields]
    return Action(chosen.id, chosen.title, chosen.kind, reason is None, reason, fields)


def _may_hold(transition: TransitionSpec, facts: Mapping[str, Any]) -> bool:
    """Whether the guard can hold now. A guard over the transition's own input (e.g. 退回's target)
    holds if some choice the actor could make satisfies it; free-text input is decided on firing."""
    condition = transition.condition
    if condition is None:
        return True
    inputs = [f for f in transition.fields if f.name in condition.names]
    if not inputs:
        return condition.evaluate(facts)
    if any(f.type not in ("enum", "boolean") for f in inputs):
        return True
    choices = [f.enum or [] if f.type == "enum" else [True, False] for f in inputs]
    names = [f.name for f in inputs]
    return any(condition.evaluate({**facts, **dict(zip(names, values, strict=True))}) for values in product(*choices))


def _refusal(transition: TransitionSpec, case: Case, actor: Actor) -> str | None:
    """Why ``actor`` may not fire ``transition`` on ``case``, or None when it may."""
    if not any(matches(rule, case, actor) for rule in transition.by):
        return "须由" + "或".join(_describe(rule, case) for rule in transition.by) + "办理"
    if transition.kind in REVIEW_KINDS and actor.user_id in submitters(case):
        return "申请人不得审查、审批或备案本人提交的申请"
    return None


def submitters(case: Case) -> set[int]:
    """Who created the application and everyone who submitted it: none of them reviews, approves
    or files it (separation of duties)."""
    recorded = case.data.get(SUBMITTERS_KEY) or []
    return {case.applicant_id, *(user for user in recorded if isinstance(user, int))}


def _describe(rule: ActorRule, case: Case) -> str:
    if rule.applicant:
        return "申请人"
    title = ROLE_TITLES.get(rule.role or "", rule.role or "")
    if rule.jurisdiction == "city":
        return title if title.startswith("市") else f"市{title}"
    if rule.jurisdiction == "district":
        level = LEVELS.get(case.level or "", "")
        return f"申请所在{level or '区县'}（{case.district or '未填写'}）的{title}"
    return title


def _state_refusal(spec: WorkflowSpec, transition: TransitionSpec, case: Case) -> str | None:
    """Why the application's state forbids the transition now: a branch already decided, a
    fast-path bar, a 公示 period not yet run, a pause twice; or None."""
    if transition.branch is not None:
        status = (case.joint or {}).get(transition.branch, {}).get("status", "pending")
        if status != "pending":
            title = _branch_title(spec, case.state, transition.branch)
            return f"会签分支「{title}」已{'跳过' if status == 'skipped' else '办结'}，不能重复办理"
    if transition.requires.not_barred and (case.barred_until is not None or case.credit_unrepaired):
        reasons = [f"申请单位因失信被限制适用告知承诺制至 {case.barred_until.isoformat()}"] if case.barred_until else []
        reasons += ["申请单位有严重失信记录未修复（以信用信息平台报告为准）"] if case.credit_unrepaired else []
        return "；".join(reasons) + "，不能适用告知承诺制，可按一般程序办理"
    return _period_refusal(transition, case)


def _branch_title(spec: WorkflowSpec, state: str, branch: str) -> str:
    joint = spec.states_by_id[state].joint
    return next((b.title for b in joint.branches if b.id == branch), branch) if joint else branch


def _period_refusal(transition: TransitionSpec, case: Case) -> str | None:
    """Why the clock forbids the transition now (a 公示 period not yet run, a pause twice), or None."""
    if transition.clock == "pause" and (case.clock is None or case.clock.is_paused):
        return "计时已暂停或本环节不计时" if case.clock else "本环节不计时"
    if transition.clock == "resume" and (case.clock is None or not case.clock.is_paused):
        return "计时未暂停"
    if transition.extends_by is not None:
        clock = case.clock
        if clock is None or clock.state != case.state or clock.due is None:
            return "本环节未在计时，不能延长"
        if clock.extended:
            return "本环节已延长过一次，不能再次延长"
        if case.today is not None and case.today > clock.due:
            return f"期限已于 {clock.due.isoformat()} 届满，须在届满前决定延长"
    if not transition.requires.period_elapsed:
        return None
    clock = case.clock if case.clock is not None and case.clock.state == case.state else None
    if clock is None or clock.due is None or case.today is None:
        return "期限未开始计算，暂不能办理"
    if case.today < clock.due:
        return f"{clock.limit} 日期限未满，最早 {clock.due.isoformat()} 可办理"
    return None


def _condition_reason(transition: TransitionSpec) -> str:
    return transition.when_reason or f"办理条件不满足：{transition.when}"


def _check_requirements(spec: WorkflowSpec, transition: TransitionSpec, comment: str, data: Mapping[str, Any]) -> None:
    if transition.requires.comment and not comment.strip():
        raise InvalidData(f"办理「{transition.title}」须填写意见或理由", field="comment")
    for name in transition.requires.fields:
        if is_blank(data.get(name)):
            label = spec.fields_by_name[name].label if name in spec.fields_by_name else name
            raise InvalidData(f"办理「{transition.title}」前须填写「{label}」", field=name)
    supplied = data.get(MATERIALS_KEY) or {}
    for name in transition.requires.materials:
        if name not in supplied:
            label = next((m.label for m in spec.materials if m.name == name), name)
            raise InvalidData(f"办理「{transition.title}」前须提交材料「{label}」", field=f"{MATERIALS_KEY}.{name}")


def _check_due_date(transition: TransitionSpec, data: Mapping[str, Any], case: Case) -> None:
    """A deadline set by the decider (``due_from``) lies after today."""
    given = data.get(transition.due_from) if transition.due_from else None
    if isinstance(given, str) and case.today is not None and date.fromisoformat(given) <= case.today:
        label = next((f.label for f in transition.fields if f.name == transition.due_from), transition.due_from)
        raise InvalidData(f"「{label}」须晚于今天（{case.today.isoformat()}）", field=transition.due_from)


def check_initiator(spec: WorkflowSpec, actor: Actor, data: Mapping[str, Any]) -> None:
    """Raise PermissionDenied unless ``actor`` may start an application of ``spec`` with ``data``."""
    case = Case(spec.initial, data, actor.user_id, actor.organisation)
    if not any(matches(rule, case, actor) for rule in spec.initiator):
        who = "或".join(_describe(rule, case) for rule in spec.initiator)
        raise PermissionDenied(f"「{spec.title}」须由{who}发起", workflow=spec.key)
