"""Semantic checks of a structurally valid WorkflowSpec.

Each check is a generator of ``(key path, message)``; the key path is a tuple like
``("transitions", 3, "to")`` so that ``engine.loading`` can find its line in the YAML.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator

from engine.conditions import can_both_hold
from engine.forms import MATERIALS_KEY, NOTICES_KEY, SUBMITTERS_KEY
from engine.roles import DERIVED_FACTS, ROLE_TITLES
from engine.spec import ActorRule, FieldSpec, TransitionSpec, WorkflowSpec

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def check_spec(spec: WorkflowSpec) -> list[Problem]:
    checks: list[Callable[[WorkflowSpec], Iterator[Problem]]] = [
        duplicate_ids,
        unknown_states,
        final_states,
        unknown_roles,
        unknown_names,
        enum_fields,
        unreachable_states,
        dead_ends,
        inconsistent_kinds,
        ambiguous_transitions,
        timeouts,
        late_actions,
        deadlines_from_fields,
        credit_reports,
        profiles,
        joint_reviews,
        extensions,
        one_time_notices,
        reserved_names,
    ]
    return [problem for check in checks for problem in check(spec)]


def duplicate_ids(spec: WorkflowSpec) -> Iterator[Problem]:
    for section, attribute in (("states", "id"), ("fields", "name"), ("materials", "name")):
        items = getattr(spec, section)
        counts = Counter(getattr(item, attribute) for item in items)
        for index, item in enumerate(items):
            value = getattr(item, attribute)
            if counts[value] > 1:
                yield (section, index, attribute), f"重复的标识 '{value}'"
    for index, transition in enumerate(spec.transitions):
        names = [field.name for field in transition.fields]
        for name in {n for n in names if names.count(n) > 1 or n in spec.fields_by_name}:
            yield ("transitions", index, "fields"), f"重复的字段名 '{name}'（与表单或本事项的其他字段重名）"


def unknown_states(spec: WorkflowSpec) -> Iterator[Problem]:
    known = spec.states_by_id
    if spec.initial not in known:
        yield ("initial",), f"未知状态 '{spec.initial}'"
    for index, transition in enumerate(spec.transitions):
        for position, source in enumerate(transition.source):
            if source not in known:
                yield ("transitions", index, "from", position), f"未知状态 '{source}'"
        if transition.target not in known:
            yield ("transitions", index, "to"), f"未知状态 '{transition.target}'"


def final_states(spec: WorkflowSpec) -> Iterator[Problem]:
    for index, state in enumerate(spec.states):
        if state.final and state.outcome is None:
            yield ("states", index, "outcome"), f"终止状态 '{state.id}' 必须声明 outcome"
    finals = {state.id for state in spec.states if state.final}
    for index, transition in enumerate(spec.transitions):
        for position, source in enumerate(transition.source):
            if source in finals:
                yield ("transitions", index, "from", position), f"终止状态 '{source}' 不能再有办理事项"


def unknown_roles(spec: WorkflowSpec) -> Iterator[Problem]:
    rules: list[tuple[Loc, ActorRule]] = [(("initiator", i), rule) for i, rule in enumerate(spec.initiator)]
    for index, transition in enumerate(spec.transitions):
        rules += [(("transitions", index, "by", i), rule) for i, rule in enumerate(transition.by)]
    for loc, rule in rules:
        if rule.role is not None and rule.role not in ROLE_TITLES:
            yield (*loc, "role"), f"未知角色 '{rule.role}'"


def unknown_names(spec: WorkflowSpec) -> Iterator[Problem]:
    materials = {material.name for material in spec.materials}
    # what an earlier step recorded (e.g. 容缺受理's missing_items) stays in the data, so it may be read
    recorded = {field.name for transition in spec.transitions for field in transition.fields}
    for index, transition in enumerate(spec.transitions):
        known = set(spec.fields_by_name) | recorded | set(DERIVED_FACTS)
        condition = transition.condition
        for name in sorted(condition.names - known) if condition else []:
            yield ("transitions", index, "when"), f"条件引用了未声明的字段 '{name}'"
        for position, name in enumerate(transition.requires.fields):
            if name not in known:
                yield ("transitions", index, "requires", "fields", position), f"未声明的字段 '{name}'"
        for position, name in enumerate(transition.requires.materials):
            if name not in materials:
                yield ("transitions", index, "requires", "materials", position), f"未声明的材料 '{name}'"


def enum_fields(spec: WorkflowSpec) -> Iterator[Problem]:
    located: list[tuple[Loc, FieldSpec]] = [(("fields", i), field) for i, field in enumerate(spec.fields)]
    for index, transition in enumerate(spec.transitions):
        located += [(("transitions", index, "fields", i), field) for i, field in enumerate(transition.fields)]
    for loc, field in located:
        if field.type == "enum" and not field.enum:
            yield (*loc, "enum"), f"枚举字段 '{field.name}' 必须列出 enum 取值"
        if field.type != "enum" and field.enum is not None:
            yield (*loc, "enum"), f"字段 '{field.name}' 不是枚举类型，不能有 enum"


def unreachable_states(spec: WorkflowSpec) -> Iterator[Problem]:
    seen, queue = {spec.initial}, deque([spec.initial])
    while queue:
        current = queue.popleft()
        for transition in spec.transitions_from(current):
            if transition.target not in seen:
                seen.add(transition.target)
                queue.append(transition.target)
    for index, state in enumerate(spec.states):
        if state.id not in seen and spec.initial in spec.states_by_id:
            yield ("states", index, "id"), f"状态 '{state.id}' 从初始状态无法到达"


def dead_ends(spec: WorkflowSpec) -> Iterator[Problem]:
    for index, state in enumerate(spec.states):
        if not state.final and not spec.transitions_from(state.id):
            yield ("states", index, "id"), f"非终止状态 '{state.id}' 没有任何办理事项可以离开"


def inconsistent_kinds(spec: WorkflowSpec) -> Iterator[Problem]:
    kinds: dict[str, str] = {}
    for index, transition in enumerate(spec.transitions):
        first = kinds.setdefault(transition.id, transition.kind)
        if first != transition.kind:
            yield ("transitions", index, "kind"), f"同名事项 '{transition.id}' 的 kind 不一致（{first}）"


def ambiguous_transitions(spec: WorkflowSpec) -> Iterator[Problem]:
    """Two entries of one trigger leaving one state, whose conditions can both hold.

    Per trigger id, not per kind: entries sharing an id are the variants the engine chooses
    between by condition, so an overlap there leaves the target undecided. Different triggers of
    one kind from one state are choices the user makes by name — 受理 and 容缺受理, 暂停 and
    恢复, or the 用地 and 规划 branches one department signs in joint review — and a per-kind rule
    flagged every one of those in the bundled workflows."""
    for index, transition in enumerate(spec.transitions):
        for earlier in spec.transitions[:index]:
            shared = set(earlier.source) & set(transition.source)
            if earlier.id == transition.id and shared and _overlap(spec, earlier, transition):
                yield (
                    ("transitions", index, "when"),
                    (
                        f"事项 '{transition.id}' 在状态 '{sorted(shared)[0]}' 有多条定义，"
                        "其条件可能同时成立，无法确定去向"
                    ),
                )


def _overlap(spec: WorkflowSpec, first: TransitionSpec, second: TransitionSpec) -> bool:
    domains: dict[str, list[object]] = {name: list(values) for name, values in DERIVED_FACTS.items()}
    for field in [*spec.fields, *first.fields, *second.fields]:
        if field.type == "boolean":
            domains[field.name] = [True, False]
        elif field.type == "enum" and field.enum:
            domains[field.name] = list(field.enum)
    return can_both_hold(first.condition, second.condition, domains)


def timeouts(spec: WorkflowSpec) -> Iterator[Problem]:
    """``on_timeout`` must name a transition leaving that state that the system may fire."""
    for index, state in enumerate(spec.states):
        if state.on_timeout is None:
            continue
        if state.limit is None:
            yield ("states", index, "on_timeout"), f"状态 '{state.id}' 没有 limit，不会超时"
        leaving = [t for t in spec.transitions_from(state.id) if t.id == state.on_timeout]
        if not leaving:
            yield ("states", index, "on_timeout"), f"状态 '{state.id}' 没有名为 '{state.on_timeout}' 的办理事项"
        elif not any(rule.role == "system" for t in leaving for rule in t.by):
            yield ("states", index, "on_timeout"), f"超时事项 '{state.on_timeout}' 须允许 role: system 办理"


def late_actions(spec: WorkflowSpec) -> Iterator[Problem]:
    """``late.then`` must name a transition leaving that state that the system may fire; the state has a limit."""
    for index, state in enumerate(spec.states):
        if state.late is None:
            continue
        if state.limit is None:
            yield ("states", index, "late"), f"状态 '{state.id}' 没有 limit，不会逾期"
        leaving = [t for t in spec.transitions_from(state.id) if t.id == state.late.then]
        if not any(rule.role == "system" for t in leaving for rule in t.by):
            yield ("states", index, "late", "then"), f"逾期事项 '{state.late.then}' 须离开本状态且允许 role: system"


def credit_reports(spec: WorkflowSpec) -> Iterator[Problem]:
    """The credit platform's report says whether a serious bad-credit record stands (a required boolean)."""
    for index, transition in enumerate(spec.transitions):
        field = next((f for f in transition.fields if f.name == "serious_bad_credit"), None)
        if transition.reports_credit and (field is None or field.type != "boolean" or not field.required):
            yield ("transitions", index, "reports_credit"), "须声明必填布尔字段 serious_bad_credit"


def deadlines_from_fields(spec: WorkflowSpec) -> Iterator[Problem]:
    """``due_from`` names a required date field of the transition, and the target state has a limit."""
    for index, transition in enumerate(spec.transitions):
        if transition.due_from is None:
            continue
        field = next((f for f in transition.fields if f.name == transition.due_from), None)
        if field is None or field.type != "date" or not field.required:
            yield ("transitions", index, "due_from"), f"'{transition.due_from}' 须是本事项的必填日期字段"
        target = spec.states_by_id.get(transition.target)
        if target is not None and (target.limit is None or target.limit.working_days is None):
            yield ("transitions", index, "due_from"), f"状态 '{transition.target}' 须有以工作日计的 limit"


def joint_reviews(spec: WorkflowSpec) -> Iterator[Problem]:
    """``then`` is a system transition leaving the joint state; ``branch`` names one of its branches."""
    known = set(spec.fields_by_name) | set(DERIVED_FACTS)
    for index, state in enumerate(spec.states):
        if state.joint is None:
            continue
        leaving = [t for t in spec.transitions_from(state.id) if t.id == state.joint.then]
        if not any(rule.role == "system" for t in leaving for rule in t.by):
            message = f"会签完成后的事项 '{state.joint.then}' 须离开本状态且允许 role: system"
            yield ("states", index, "joint", "then"), message
        for position, branch in enumerate(state.joint.branches):
            for name in sorted(branch.skip_condition.names - known) if branch.skip_condition else []:
                yield ("states", index, "joint", "branches", position, "skip_when"), f"条件引用了未声明的字段 '{name}'"
    yield from _branch_decisions(spec)
    yield from _branch_fields(spec)


def _branch_decisions(spec: WorkflowSpec) -> Iterator[Problem]:
    for index, transition in enumerate(spec.transitions):
        if transition.branch is None:
            continue
        for source in transition.source:
            joint = spec.states_by_id[source].joint if source in spec.states_by_id else None
            if joint is None or transition.branch not in {b.id for b in joint.branches}:
                yield ("transitions", index, "branch"), f"状态 '{source}' 没有会签分支 '{transition.branch}'"
            elif transition.target != source:
                yield ("transitions", index, "to"), "会签分支的办理不改变状态：to 须与 from 相同"


def _branch_fields(spec: WorkflowSpec) -> Iterator[Problem]:
    for index, transition in enumerate(spec.transitions):
        if transition.branch_field is None:
            continue
        loc: Loc = ("transitions", index, "branch_field")
        field = next((f for f in transition.fields if f.name == transition.branch_field), None)
        if field is None or field.type != "enum" or field.required:
            yield loc, f"'{transition.branch_field}' 须是本事项的选填枚举字段（不填则按办理部门的分支）"
            continue
        for source in transition.source:
            joint = spec.states_by_id[source].joint if source in spec.states_by_id else None
            branches = {b.id for b in joint.branches} if joint else set()
            if unknown := sorted(set(field.enum or []) - branches):
                yield loc, f"状态 '{source}' 没有会签分支 {', '.join(unknown)}"


def extensions(spec: WorkflowSpec) -> Iterator[Problem]:
    """An extension moves the deadline of the current step: the state stays, and it has a limit."""
    for index, transition in enumerate(spec.transitions):
        if transition.extends_by is None:
            continue
        if transition.source != [transition.target]:
            yield ("transitions", index, "to"), "延长期限不改变状态：from 与 to 须为同一状态"
        elif transition.target in spec.states_by_id and spec.states_by_id[transition.target].limit is None:
            yield ("transitions", index, "extends_by"), f"状态 '{transition.target}' 没有 limit，无从延长"


def one_time_notices(spec: WorkflowSpec) -> Iterator[Problem]:
    """A 补正 notice names its item list (a required list field) and where a second notice gives its reason."""
    for index, transition in enumerate(spec.transitions):
        rule = transition.one_time_notice
        if rule is None:
            continue
        loc: Loc = ("transitions", index, "one_time_notice")
        if transition.kind != "request_supplement":
            yield (*loc,), "一次性告知只适用于 kind: request_supplement 的办理事项"
        fields = {field.name: field for field in transition.fields}
        items = fields.get(rule.items)
        if items is None or items.type != "list" or not items.required:
            yield (*loc, "items"), f"'{rule.items}' 须是本事项的必填列表字段（type: list, required: true）"
        reason = fields.get(rule.repeat_reason)
        if reason is None or reason.type not in ("string", "text") or reason.required:
            message = f"'{rule.repeat_reason}' 须是本事项的选填文本字段（首次告知无须填写）"
            yield (*loc, "repeat_reason"), message


def reserved_names(spec: WorkflowSpec) -> Iterator[Problem]:
    """The engine keeps materials, 补正 notices and submitters in the application's data under these keys."""
    located: list[tuple[Loc, FieldSpec]] = [(("fields", i), field) for i, field in enumerate(spec.fields)]
    for index, transition in enumerate(spec.transitions):
        located += [(("transitions", index, "fields", i), field) for i, field in enumerate(transition.fields)]
    for loc, field in located:
        if field.name in (MATERIALS_KEY, NOTICES_KEY, SUBMITTERS_KEY):
            yield (*loc, "name"), f"字段名 '{field.name}' 为系统保留，不能声明"


def profiles(spec: WorkflowSpec) -> Iterator[Problem]:
    """A profile reads declared fields, and shortens the limits of states that have one."""
    known = set(spec.fields_by_name) | set(DERIVED_FACTS)
    for index, profile in enumerate(spec.profiles):
        for name in sorted(profile.condition.names - known):
            yield ("profiles", index, "when"), f"条件引用了未声明的字段 '{name}'"
        for state_id in profile.limits:
            state = spec.states_by_id.get(state_id)
            if state is None:
                yield ("profiles", index, "limits", state_id), f"未知状态 '{state_id}'"
            elif state.limit is None:
                yield ("profiles", index, "limits", state_id), f"状态 '{state_id}' 本身没有 limit，不能改定"
        if profile.total_limit is not None and spec.total_limit is None:
            yield ("profiles", index, "total_limit"), "工作流未声明 total_limit，不能改定"
