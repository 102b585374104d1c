"""补正 notices (一次性告知, 行政许可法 §32): each notice's items on record, a second one only with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.case import Actor, Case
from engine.errors import InvalidData
from engine.forms import NOTICES_KEY
from engine.spec import TransitionSpec


def earlier_notices(case: Case) -> list[dict[str, Any]]:
    """The notices already given on the current step."""
    recorded = case.data.get(NOTICES_KEY)
    return [n for n in recorded if n["step"] == case.state] if isinstance(recorded, list) else []


def next_notices(
    case: Case, transition: TransitionSpec, to_state: str, data: Mapping[str, Any], actor: Actor
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The 补正 notices of the current step after the step, and the notice this one gives.

    A step's notices are kept while the application goes between the step and the notice's 补正
    state; any other move ends the step. Raises InvalidData for a second notice without a reason."""
    recorded = case.data.get(NOTICES_KEY)
    kept = [n for n in recorded if to_state in (n["step"], n["pending_in"])] if isinstance(recorded, list) else []
    rule = transition.one_time_notice
    if rule is None:
        return kept, None
    earlier = [n for n in kept if n["step"] == case.state]
    reason = str(data.get(rule.repeat_reason) or "").strip()
    if earlier and not reason:
        first = "、".join(earlier[0]["items"])
        raise InvalidData(
            f"本环节已一次性告知补正（{first}），再次告知只能针对首次告知中尚未补正的事项或新提交材料中的问题，"
            f"须填写理由（{rule.repeat_reason}）",
            field=rule.repeat_reason,
        )
    items = [str(item) for item in data.get(rule.items) or []]
    named_before = {item for n in earlier for item in n["items"]}
    notice = {
        "step": case.state, "pending_in": to_state, "number": len(earlier) + 1, "items": items,
        "by": actor.username, "on": case.today.isoformat() if case.today else None, "reason": reason or None,
        # what a second notice repeats from earlier ones and what it names anew, so the rule can be checked
        "repeated_items": [item for item in items if item in named_before] if earlier else [],
        "new_items": [item for item in items if item not in named_before] if earlier else items,
    }  # fmt: skip
    return [*kept, notice], notice
