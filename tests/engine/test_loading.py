"""load_spec: the bundled workflows load, and every problem names its line and key path."""

from __future__ import annotations

import textwrap
from importlib.resources import files

import pytest

from engine.errors import SpecInvalid, SpecProblem
from engine.loading import content_hash, load_spec
from engine.spec import WorkflowSpec

# A small valid workflow; line numbers in the comments are those of the dedented text.
MINI = textwrap.dedent(
    """\
    key: mini
    title: 小流程
    basis: "test"
    initial: draft
    initiator: {applicant: true}
    fields:
      - {name: area, type: integer, label: 面积}
      - {name: note, type: string, label: 说明}
    states:
      - {id: draft, title: 编制中}
      - {id: review, title: 审查}
      - {id: done, title: 已批准, final: true, outcome: approved}
    transitions:
      - id: submit
        title: 提交
        kind: submit
        from: draft
        to: review
        by: {applicant: true}
        basis: x
      - id: return
        title: 退回
        kind: return
        from: review
        to: draft
        by: {role: planning_authority, jurisdiction: city}
        basis: x
      - id: approve
        title: 批准
        kind: approve
        from: review
        to: done
        by: {role: city_gov, jurisdiction: city}
        basis: x
    """
)
# line 11: `- {id: review ...}`, line 12: `- {id: done ...}`
# transitions[0] starts at line 14, transitions[1] at 21, transitions[2] at 28;
# within transitions[2]: title 29, kind 30, from 31, to 32, by 33, basis 34.


def bundled(name: str) -> str:
    return files("workflows").joinpath(name).read_text(encoding="utf-8")


def problems_of(text: str) -> list[SpecProblem]:
    with pytest.raises(SpecInvalid) as raised:
        load_spec(text)
    assert raised.value.problems, "SpecInvalid must carry at least one problem"
    return raised.value.problems


def located(problems: list[SpecProblem]) -> set[tuple[int, str]]:
    return {(p.line, p.path) for p in problems}


def test_the_mini_workflow_itself_is_valid() -> None:
    spec = load_spec(MINI)
    assert [s.id for s in spec.states] == ["draft", "review", "done"]
    assert [t.id for t in spec.transitions] == ["submit", "return", "approve"]


@pytest.mark.parametrize(
    ("name", "key", "initial", "finals"),
    [
        ("unit_plan.yaml", "unit_plan", "draft", {"approved", "filed", "rejected", "withdrawn"}),
        ("implementation_plan.yaml", "implementation_plan", "draft", {"approved", "filed", "rejected", "withdrawn"}),
    ],
)
def test_bundled_workflows_load(name: str, key: str, initial: str, finals: set[str]) -> None:
    spec = load_spec(bundled(name), f"workflows/{name}")
    assert isinstance(spec, WorkflowSpec)
    assert spec.key == key
    assert spec.initial == initial
    assert {s.id for s in spec.states if s.final} == finals
    assert all(s.outcome is not None for s in spec.states if s.final)


def test_bundled_unit_plan_expands_merge_entries() -> None:
    spec = load_spec(bundled("unit_plan.yaml"))
    accepts = [t for t in spec.transitions if t.id == "accept"]
    assert [(t.by[0].role, t.by[0].jurisdiction, t.when) for t in accepts] == [
        ("planning_authority", "city", "level == 'central'"),
        ("planning_authority", "district", "level == 'county'"),
    ]
    # keys not overridden are merged in from the anchor
    assert {(t.title, t.kind, tuple(t.source), t.target) for t in accepts} == {
        ("受理", "accept", ("submitted",), "planning_review")
    }


def test_malformed_yaml_names_its_line() -> None:
    text = textwrap.dedent(
        """\
        key: mini
        title: 小流程
        basis: "test"
        initial: [draft
        initiator: {applicant: true}
        """
    )
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].line == 5
    assert problems[0].message.startswith("YAML 语法错误")


def test_a_tab_in_yaml_names_its_line() -> None:
    problems = problems_of("key: mini\ntitle: 小流程\nbasis: x\n\tinitial: draft\n")
    assert [p.line for p in problems] == [4]
    assert "YAML 语法错误" in problems[0].message


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    problems = problems_of("- a\n- b\n")
    assert [(p.line, p.message) for p in problems] == [(1, "工作流定义应为 YAML 映射（键: 值）")]


def test_transition_to_an_unknown_state_names_line_and_path() -> None:
    text = MINI.replace("    to: done\n", "    to: finished\n")
    problems = problems_of(text)
    unknown = [p for p in problems if "未知状态" in p.message]
    assert [(p.line, p.path, p.message) for p in unknown] == [(32, "transitions[2].to", "未知状态 'finished'")]


def test_transition_from_an_unknown_state_names_the_list_item() -> None:
    text = MINI.replace("    from: review\n    to: done\n", "    from: [review, limbo]\n    to: done\n")
    problems = problems_of(text)
    assert (31, "transitions[2].from[1]") in located(problems)
    assert any(p.message == "未知状态 'limbo'" for p in problems)


def test_unknown_initial_state() -> None:
    problems = problems_of(MINI.replace("initial: draft", "initial: drafting"))
    assert (4, "initial") in located(problems)


def test_condition_over_an_undeclared_field() -> None:
    text = MINI.replace("    to: done\n", '    to: done\n    when: "area > 100 and floors > 3"\n')
    problems = problems_of(text)
    assert [(p.line, p.path, p.message) for p in problems] == [
        (33, "transitions[2].when", "条件引用了未声明的字段 'floors'")
    ]


def test_condition_over_declared_fields_and_level_loads() -> None:
    text = MINI.replace("    to: done\n", "    to: done\n    when: \"area > 100 and level == 'central'\"\n")
    spec = load_spec(text)
    assert spec.transitions[2].condition is not None
    assert spec.transitions[2].condition.names == {"area", "level"}


def test_condition_outside_the_grammar_names_its_line() -> None:
    text = MINI.replace("    to: done\n", "    to: done\n    when: \"__import__('os')\"\n")
    problems = problems_of(text)
    assert [(p.line, p.path) for p in problems] == [(33, "transitions[2].when")]
    assert "__import__" in problems[0].message


def test_unknown_role_names_line_and_path() -> None:
    text = MINI.replace("by: {role: city_gov, jurisdiction: city}", "by: {role: mayor, jurisdiction: city}")
    problems = problems_of(text)
    assert [(p.line, p.path, p.message) for p in problems] == [(33, "transitions[2].by.role", "未知角色 'mayor'")]


def test_unknown_initiator_role_in_a_flow_list() -> None:
    text = MINI.replace("initiator: {applicant: true}", "initiator:\n  - {role: developer}")
    problems = problems_of(text)
    assert [(p.line, p.path, p.message) for p in problems] == [(6, "initiator[0].role", "未知角色 'developer'")]


@pytest.mark.parametrize(
    ("old", "new", "line", "paths"),
    [
        (
            "initiator: {applicant: true}",
            "initiator:\n  role: developer",
            6,
            {"initiator.role", "initiator[0].role"},
        ),
        (
            "    by: {role: city_gov, jurisdiction: city}\n",
            "    by:\n      jurisdiction: city\n      role: mayor\n",
            35,
            {"transitions[2].by.role", "transitions[2].by[0].role"},
        ),
    ],
)
def test_unknown_role_in_a_block_mapping_names_the_role_line(old: str, new: str, line: int, paths: set[str]) -> None:
    problems = problems_of(MINI.replace(old, new))
    assert len(problems) == 1
    assert problems[0].line == line
    assert problems[0].path in paths
    assert "未知角色" in problems[0].message


def test_misspelled_key_in_a_block_by_mapping_names_its_line() -> None:
    text = MINI.replace(
        "    by: {role: city_gov, jurisdiction: city}\n", "    by:\n      role: city_gov\n      jurisdicton: city\n"
    )
    problems = problems_of(text)
    assert [(p.line, p.path) for p in problems] == [(35, "transitions[2].by.jurisdicton")]


def test_misspelled_key_names_its_line() -> None:
    text = MINI.replace("    title: 批准\n", "    titel: 批准\n")
    problems = problems_of(text)
    assert (29, "transitions[2].titel") in located(problems)
    misspelled = next(p for p in problems if p.path == "transitions[2].titel")
    assert "拼写" in misspelled.message
    # the missing `title` is reported too, at the transition that lacks it
    assert (28, "transitions[2].title") in located(problems)


def test_misspelled_top_level_key() -> None:
    problems = problems_of(MINI.replace('basis: "test"', 'basis: "test"\ndescriptoin: 说明'))
    assert (4, "descriptoin") in located(problems)


def test_invalid_kind_names_its_line() -> None:
    problems = problems_of(MINI.replace("    kind: approve\n", "    kind: sign_off\n"))
    assert [(p.line, p.path) for p in problems] == [(30, "transitions[2].kind")]
    assert problems[0].message.startswith("取值无效")


def test_duplicate_state_ids() -> None:
    text = MINI.replace(
        "  - {id: done, title: 已批准", "  - {id: review, title: 又一个审查}\n  - {id: done, title: 已批准"
    )
    problems = problems_of(text)
    duplicates = [(p.line, p.path) for p in problems if "重复的标识" in p.message]
    assert duplicates == [(11, "states[1].id"), (12, "states[2].id")]


def test_unreachable_state() -> None:
    text = MINI.replace(
        "  - {id: done, title: 已批准, final: true, outcome: approved}\n",
        "  - {id: done, title: 已批准, final: true, outcome: approved}\n"
        "  - {id: orphan, title: 孤立, final: true, outcome: rejected}\n",
    )
    problems = problems_of(text)
    assert [(p.line, p.path, p.message) for p in problems] == [(13, "states[3].id", "状态 'orphan' 从初始状态无法到达")]


def test_non_final_state_without_a_way_out() -> None:
    text = MINI.replace("    from: review\n    to: draft\n", "    from: review\n    to: stuck\n").replace(
        "  - {id: done,", "  - {id: stuck, title: 卡住}\n  - {id: done,"
    )
    problems = problems_of(text)
    assert [(p.line, p.path, p.message) for p in problems] == [
        (12, "states[2].id", "非终止状态 'stuck' 没有任何办理事项可以离开")
    ]


def test_final_state_without_outcome() -> None:
    problems = problems_of(MINI.replace(", final: true, outcome: approved}", ", final: true}"))
    assert [(p.line, p.path, p.message) for p in problems] == [
        (12, "states[2].outcome", "终止状态 'done' 必须声明 outcome")
    ]


def test_transition_leaving_a_final_state() -> None:
    text = MINI.replace("    from: review\n    to: draft\n", "    from: [review, done]\n    to: draft\n")
    problems = problems_of(text)
    assert [(p.line, p.path) for p in problems] == [(24, "transitions[1].from[1]")]
    assert "终止状态 'done'" in problems[0].message


AMBIGUOUS = textwrap.dedent(
    """\
    key: routed
    title: 分级审批
    basis: "test"
    initial: draft
    initiator: {applicant: true}
    fields:
      - {name: area, type: integer, label: 面积}
    states:
      - {id: draft, title: 编制中}
      - {id: done, title: 已批准, final: true, outcome: approved}
    transitions:
      - id: approve
        title: 批准
        kind: approve
        from: draft
        to: done
        by: {role: city_gov, jurisdiction: city}
        when: "FIRST"
        basis: x
      - id: approve
        title: 批准
        kind: approve
        from: draft
        to: done
        by: {role: local_gov, jurisdiction: district}
        when: "SECOND"
        basis: x
    """
)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("area > 100", "area > 200"),
        ("level == 'central'", "level != 'county'"),
        ("level == 'central' or area > 5", "level == 'county'"),
        ("area >= 10", "not area < 10"),
    ],
)
def test_overlapping_conditions_are_ambiguous(first: str, second: str) -> None:
    problems = problems_of(AMBIGUOUS.replace("FIRST", first).replace("SECOND", second))
    assert [(p.line, p.path) for p in problems] == [(26, "transitions[1].when")]
    assert "无法确定去向" in problems[0].message
    assert "'approve'" in problems[0].message


def test_overlapping_conditions_over_arithmetic_are_ambiguous() -> None:
    problems = problems_of(AMBIGUOUS.replace("FIRST", "2 * area > 10").replace("SECOND", "2 * area > 20"))
    assert [(p.line, p.path) for p in problems] == [(26, "transitions[1].when")]


def test_two_unconditional_entries_are_ambiguous() -> None:
    text = AMBIGUOUS.replace('    when: "FIRST"\n', "").replace('    when: "SECOND"\n', "")
    problems = problems_of(text)
    assert [p.path for p in problems] == ["transitions[1].when"]
    # located at the entry itself, since its `when` key does not exist
    assert problems[0].line == 19


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("level == 'central'", "level == 'county'"),
        ("area > 100", "area <= 100"),
        ("level in ['central']", "level not in ['central']"),
    ],
)
def test_mutually_exclusive_conditions_are_not_ambiguous(first: str, second: str) -> None:
    spec = load_spec(AMBIGUOUS.replace("FIRST", first).replace("SECOND", second))
    assert [t.when for t in spec.transitions] == [first, second]


def test_same_id_from_different_states_is_not_ambiguous() -> None:
    text = AMBIGUOUS.replace('    when: "FIRST"\n', "").replace('    when: "SECOND"\n', "")
    text = text.replace(
        "  - {id: draft, title: 编制中}\n", "  - {id: draft, title: 编制中}\n  - {id: review, title: 审查}\n"
    )
    text = text.replace("to: done\n    by: {role: city_gov", "to: review\n    by: {role: city_gov")
    text = text.replace(
        "from: draft\n    to: done\n    by: {role: local_gov", "from: review\n    to: done\n    by: {role: local_gov"
    )
    spec = load_spec(text)
    assert [(t.source, t.target) for t in spec.transitions] == [(["draft"], "review"), (["review"], "done")]


ANCHORED = textwrap.dedent(
    """\
    key: anchored
    title: 锚点
    basis: "test"
    initial: draft
    initiator: {applicant: true}
    states:
      - {id: draft, title: 编制中}
      - {id: done, title: 已批准, final: true, outcome: approved}
    transitions:
      - &approve_central
        id: approve
        title: 批准
        kind: approve
        from: draft
        to: done
        by: {role: city_gov, jurisdiction: city}
        when: "level == 'central'"
        basis: x
      - <<: *approve_central
        by: {role: local_gov, jurisdiction: district}
    """
)


def test_merge_entry_with_its_own_override_loads() -> None:
    text = ANCHORED.replace("  - <<: *approve_central\n", "  - <<: *approve_central\n    when: \"level == 'county'\"\n")
    spec = load_spec(text)
    assert [(t.id, t.target, t.by[0].role, t.when) for t in spec.transitions] == [
        ("approve", "done", "city_gov", "level == 'central'"),
        ("approve", "done", "local_gov", "level == 'county'"),
    ]


def test_a_key_merged_from_an_anchor_is_located_at_the_merge_entry() -> None:
    # the second entry inherits `when: level == 'central'`, so both entries can hold at once
    problems = problems_of(ANCHORED)
    assert [(p.line, p.path) for p in problems] == [(19, "transitions[1].when")]


def test_an_overriding_key_in_a_merge_entry_has_its_own_line() -> None:
    text = ANCHORED.replace(
        "  - <<: *approve_central\n",
        "  - <<: *approve_central\n    when: \"level == 'county'\"\n    to: nowhere\n",
    )
    problems = problems_of(text)
    assert [(p.line, p.path, p.message) for p in problems] == [(21, "transitions[1].to", "未知状态 'nowhere'")]


def test_every_problem_is_reported_at_once() -> None:
    text = MINI.replace("to: done", "to: finished").replace("role: city_gov", "role: mayor")
    problems = problems_of(text)
    assert {(32, "transitions[2].to"), (33, "transitions[2].by.role")} <= located(problems)


def test_spec_invalid_renders_file_and_lines() -> None:
    with pytest.raises(SpecInvalid) as raised:
        load_spec(MINI.replace("to: done", "to: finished"), "workflows/mini.yaml")
    error = raised.value
    assert error.code == "workflow_invalid"
    assert error.file == "workflows/mini.yaml"
    assert "workflows/mini.yaml:32: transitions[2].to: 未知状态 'finished'" in error.detail
    assert error.context["errors"] == [p.as_dict() for p in error.problems]
    assert {"line": 32, "path": "transitions[2].to", "message": "未知状态 'finished'"} in [
        p.as_dict() for p in error.problems
    ]


REINDENTED = textwrap.dedent(
    """\
    # 同一流程，换了缩进、引号和注释
    key: mini
    title: "小流程"
    basis: test   # 依据
    initial: draft
    initiator:
        applicant: true
    fields:
        -   name: area
            type: integer
            label: 面积
        -   {name: note, type: string, label: 说明}
    states:
        - {id: draft, title: 编制中}
        - {id: review, title: 审查}
        # 终止状态
        - {id: done, title: 已批准, final: true, outcome: approved}
    transitions:
        -   {id: submit, title: 提交, kind: submit, from: [draft], to: review, by: [{applicant: true}], basis: x}
        -   id: return
            title: 退回
            kind: return
            from: review
            to: draft
            by: {role: planning_authority, jurisdiction: city}
            basis: x
        -   id: approve
            title: 批准
            kind: approve
            from: review
            to: done
            by: {role: city_gov, jurisdiction: city}
            basis: 'x'
    """
)


def test_content_hash_ignores_layout_and_comments() -> None:
    assert content_hash(load_spec(REINDENTED)) == content_hash(load_spec(MINI))


def test_content_hash_is_stable_and_short() -> None:
    first, second = content_hash(load_spec(MINI)), content_hash(load_spec(MINI))
    assert first == second
    assert len(first) == 16
    assert int(first, 16) >= 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("title: 批准", "title: 批准决定"),
        ('basis: "test"', 'basis: "test2"'),
        ("to: done", 'to: done\n    when: "area > 1"'),
        ("{name: area, type: integer, label: 面积}", "{name: area, type: integer, label: 面积, required: true}"),
    ],
)
def test_content_hash_changes_with_content(old: str, new: str) -> None:
    changed = MINI.replace(old, new, 1)
    assert changed != MINI
    assert content_hash(load_spec(changed)) != content_hash(load_spec(MINI))


def test_bundled_workflows_have_different_hashes() -> None:
    unit = content_hash(load_spec(bundled("unit_plan.yaml")))
    implementation = content_hash(load_spec(bundled("implementation_plan.yaml")))
    assert unit != implementation


def test_a_one_time_notice_names_its_item_list_and_reason_fields() -> None:
    """补正 (PROCESS.md §4.3): the notice's item list is a required list, the reason an optional text."""
    notice = (
        "    from: review\n    to: draft\n"
        "    fields:\n"
        "      - {name: items, type: string, label: 补正事项}\n"
        "      - {name: repeat_reason, type: text, label: 理由, required: true}\n"
        "    one_time_notice: {items: items, repeat_reason: repeat_reason}\n"
    )
    problems = problems_of(MINI.replace("    from: review\n    to: draft\n", notice))
    assert {p.path for p in problems} == {
        "transitions[1].one_time_notice",
        "transitions[1].one_time_notice.items",
        "transitions[1].one_time_notice.repeat_reason",
    }
    assert any("request_supplement" in p.message for p in problems)


def test_reserved_data_keys_cannot_be_declared_as_fields() -> None:
    problems = problems_of(MINI.replace("{name: note, type: string", "{name: supplement_notices, type: string"))
    assert [(p.line, p.path) for p in problems] == [(8, "fields[1].name")]
    assert "系统保留" in problems[0].message


def test_a_late_action_needs_a_limit_and_a_system_transition() -> None:
    """广州's day-6 credit push (PROCESS.md §5 E): ``late`` fires a system transition after a missed deadline."""
    text = MINI.replace(
        "  - {id: review, title: 审查}",
        "  - {id: review, title: 审查, late: {natural_days: 6, then: approve, basis: x}}",
    )
    problems = problems_of(text)
    assert {p.path for p in problems} == {"states[1].late", "states[1].late.then"}
    too_soon = MINI.replace(
        "  - {id: review, title: 审查}",
        "  - {id: review, title: 审查, late: {natural_days: 1, then: approve, basis: x}}",
    )
    assert problems_of(too_soon)[0].path == "states[1].late.natural_days"


def test_a_deadline_from_a_field_needs_a_required_date_and_a_working_day_limit() -> None:
    text = MINI.replace("    from: review\n    to: draft\n", "    from: review\n    to: draft\n    due_from: note\n")
    problems = problems_of(text)
    assert [p.path for p in problems] == ["transitions[1].due_from", "transitions[1].due_from"]


def test_a_profile_shortens_only_limits_that_exist() -> None:
    """PROCESS.md §5 D: the simple_low_risk profile replaces stage limits; it cannot invent one."""
    profile = (
        "profiles:\n"
        "  - {id: quick, title: 简易, when: 'area < 100 and height > 3', limits: {review: {working_days: 2},"
        " nowhere: {working_days: 1}}, total_limit: {working_days: 10}, basis: x}\n"
    )
    problems = problems_of(MINI.replace("fields:\n", profile + "fields:\n", 1))
    assert {(p.path, p.message) for p in problems} == {
        ("profiles[0].when", "条件引用了未声明的字段 'height'"),
        ("profiles[0].limits.review", "状态 'review' 本身没有 limit，不能改定"),
        ("profiles[0].limits.nowhere", "未知状态 'nowhere'"),
        ("profiles[0].total_limit", "工作流未声明 total_limit，不能改定"),
    }


def test_a_named_joint_branch_must_be_a_branch_of_the_state() -> None:
    text = bundled("project_approval.yaml").replace("enum: [initiation, land, planning]", "enum: [initiation, roads]")
    problems = problems_of(text)
    assert {p.message for p in problems} == {"状态 'joint_review' 没有会签分支 roads"}
    assert {p.path.rsplit(".", 1)[-1] for p in problems} == {"branch_field"}
