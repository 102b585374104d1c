"""Joint review (会签 / 并联审批): branch statuses, each reviewer's decision, and the opinions sent back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.case import Actor, Case, matches
from engine.errors import GuardFailed, PermissionDenied
from engine.spec import TransitionSpec, WorkflowSpec


def joint_step(
    spec: WorkflowSpec,
    case: Case,
    transition: TransitionSpec,
    to_state: str,
    facts: Mapping[str, Any],
    actor: Actor,
    comment: str,
    data: Mapping[str, Any],
) -> tuple[dict[str, dict[str, Any]] | None, bool, list[dict[str, Any]] | None]:
    """The branch statuses after the step; whether every branch is now approved or skipped (the system
    then fires the state's ``then``); and, when a reviewer's objection sends it back, every opinion so far."""
    decision = {"by": actor.username, "department": actor.department, "opinion": comment.strip(),
                "details": dict(data), "on": case.today.isoformat() if case.today else None}  # fmt: skip
    joint = next_joint(spec, case, transition, to_state, facts, actor, decision)
    in_joint_state = spec.states_by_id[to_state].joint is not None
    complete = in_joint_state and joint is not None and all(b["status"] != "pending" for b in joint.values())
    sent_back = objects_in_joint_review(spec, case, transition)
    return joint, complete, joint_opinions(spec, joint) if sent_back and joint else None


def next_joint(
    spec: WorkflowSpec,
    case: Case,
    transition: TransitionSpec,
    to_state: str,
    facts: Mapping[str, Any],
    actor: Actor,
    decision: dict[str, Any],
) -> dict[str, dict[str, Any]] | None:
    """Branch statuses after the step: set up on entering a joint state, one branch decided per decision."""
    if objects_in_joint_review(spec, case, transition):
        return _record_objection(spec, case, transition, actor, decision)
    target = spec.states_by_id[to_state]
    joint = target.joint
    if joint is None:  # kept through a 补正 pause, dropped when the application moves on
        return {key: dict(value) for key, value in case.joint.items()} if case.joint and not target.counts else None
    resuming = case.state != to_state and not spec.states_by_id[case.state].counts and case.joint
    if resuming:  # back from a 补正 pause: decisions already taken stand
        return {key: dict(value) for key, value in (case.joint or {}).items()}
    if case.state != to_state:
        return {
            branch.id: {"status": "skipped", "reason": branch.skip_reason}
            if branch.skip_condition is not None and branch.skip_condition.evaluate(facts)
            else {"status": "pending"}
            for branch in joint.branches
        }
    statuses = {key: dict(value) for key, value in (case.joint or {}).items()}
    if transition.branch is not None:
        statuses[transition.branch] = {"status": "approved", "transition": transition.id, **decision}
    return statuses


# A joint reviewer's decision that sends the application back to the applicant (会签: 补正 or 否决).
OBJECTING_KINDS = frozenset({"request_supplement", "reject"})


def objects_in_joint_review(spec: WorkflowSpec, case: Case, transition: TransitionSpec) -> bool:
    return transition.kind in OBJECTING_KINDS and spec.states_by_id[case.state].joint is not None


def _record_objection(
    spec: WorkflowSpec, case: Case, transition: TransitionSpec, actor: Actor, decision: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The objection goes on the branch it names, or on those the reviewer's department decides (still
    pending ones first). A rejection ends the round: approvals already given lapse, and stay on record as lapsed."""
    statuses = {key: dict(value) for key, value in (case.joint or {}).items()}
    for branch in _objected_branches(spec, case, transition, decision["details"], actor):
        if transition.kind == "reject":
            statuses[branch] = {"status": "rejected", "transition": transition.id, **decision}
        else:  # the branch stays open: it is decided again once the applicant has supplied the items
            statuses[branch] = {**statuses.get(branch, {"status": "pending"}), "supplement_requested": decision}
    if transition.kind == "reject":
        for status in statuses.values():
            if status.get("status") == "approved":
                status["lapsed"] = True
    return statuses


def _objected_branches(
    spec: WorkflowSpec, case: Case, transition: TransitionSpec, data: Mapping[str, Any], actor: Actor
) -> list[str]:
    """Raises PermissionDenied for a named branch another department decides, GuardFailed for one decided."""
    own = _branches_decided_by(spec, case, actor)
    statuses = case.joint or {}
    named = data.get(transition.branch_field) if transition.branch_field else None
    if named is None:
        return [b for b in own if statuses.get(b, {}).get("status") == "pending"] or own
    joint = spec.states_by_id[case.state].joint
    title = next((b.title for b in joint.branches if b.id == named), named) if joint else named
    if named not in own:
        raise PermissionDenied(f"会签分支「{title}」不由本部门审查，不能就其要求补正或否决", transition=transition.id)
    if statuses.get(named, {}).get("status") != "pending":
        raise GuardFailed(f"会签分支「{title}」已办结或已跳过，不能再要求补正或否决", transition=transition.id)
    return [named]


def _branches_decided_by(spec: WorkflowSpec, case: Case, actor: Actor) -> list[str]:
    joint = spec.states_by_id[case.state].joint
    deciding = {
        t.branch
        for t in spec.transitions_from(case.state)
        if t.branch is not None and any(matches(rule, case, actor) for rule in t.by)
    }
    return [branch.id for branch in joint.branches if branch.id in deciding] if joint else []


DECISION_TITLES = {"approved": "同意", "rejected": "不予批准", "supplement_requested": "要求补正"}


def joint_opinions(spec: WorkflowSpec, joint: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every reviewer's decision in the joint round, branch by branch, each with its department and reasons."""
    titles = {b.id: b.title for state in spec.states if state.joint for b in state.joint.branches}
    order = list(titles)  # the YAML's branch order: PostgreSQL's JSONB keeps no key order
    opinions: list[dict[str, Any]] = []
    for branch, status in sorted(joint.items(), key=lambda item: order.index(item[0]) if item[0] in order else 0):
        decided = [(status["status"], status)] if status.get("status") in ("approved", "rejected") else []
        if "supplement_requested" in status:
            decided.append(("supplement_requested", status["supplement_requested"]))
        for kind, said in decided:
            opinions.append({
                "branch": branch, "branch_title": titles.get(branch, branch), "decision": kind,
                "decision_title": DECISION_TITLES[kind], "department": said.get("department"),
                "reviewer": said.get("by"), "opinion": said.get("opinion"), "details": said.get("details"),
                "on": said.get("on"), "lapsed": bool(status.get("lapsed")) and kind == "approved",
            })  # fmt: skip
    return opinions
