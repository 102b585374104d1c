"""The condition language: what it evaluates, and everything it refuses."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pytest

from engine.conditions import can_both_hold, parse_condition
from engine.errors import ConditionInvalid
from engine.loading import load_spec


def holds(source: str, **facts: Any) -> bool:
    return parse_condition(source).evaluate(facts)


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        ("a and b", {"a": True, "b": True}, True),
        ("a and b", {"a": True, "b": False}, False),
        ("a or b", {"a": False, "b": True}, True),
        ("a or b", {"a": False, "b": False}, False),
        ("not a", {"a": True}, False),
        ("not a", {"a": False}, True),
        ("not (a or b) and c", {"a": False, "b": False, "c": True}, True),
        ("not (a or b) and c", {"a": False, "b": True, "c": True}, False),
        ("a or b and c", {"a": False, "b": True, "c": False}, False),  # and binds tighter than or
        ("a or b and c", {"a": True, "b": False, "c": False}, True),
        ("level in ['central', 'county']", {"level": "county"}, True),
        ("level in ['central', 'county']", {"level": "town"}, False),
        ("level not in ['central']", {"level": "county"}, True),
        ("level not in ['central']", {"level": "central"}, False),
        ("'central' in levels", {"levels": ["central", "county"]}, True),
        ("'city' in levels", {"levels": ["central", "county"]}, False),
        ("x in (1, 2, 3)", {"x": 2}, True),
        ("x == 3", {"x": 3}, True),
        ("x != 3", {"x": 3}, False),
        ("x < 3", {"x": 2}, True),
        ("x < 3", {"x": 3}, False),
        ("x <= 3", {"x": 3}, True),
        ("x > 3", {"x": 3}, False),
        ("x >= 3", {"x": 3}, True),
        ("1 <= x < 10", {"x": 9}, True),
        ("1 <= x < 10", {"x": 10}, False),
        ("1 <= x < 10", {"x": 0}, False),
        ("name == 'dongcheng'", {"name": "dongcheng"}, True),
        ("flag == True", {"flag": True}, True),
        ("ref != None", {"ref": "东政字〔2025〕3号"}, True),
        ("ref != None", {}, False),
        ("ref == None", {}, True),
        ("a + b == 7", {"a": 3, "b": 4}, True),
        ("a - b == 0 - 1", {"a": 3, "b": 4}, True),
        ("3 * a >= 2 * b", {"a": 80, "b": 120}, True),
        ("3 * a >= 2 * b", {"a": 79, "b": 120}, False),
        ("a * 2 - b > 0", {"a": 5, "b": 9}, True),
    ],
)
def test_evaluation(source: str, facts: dict[str, Any], expected: bool) -> None:
    assert parse_condition(source).evaluate(facts) is expected


def test_a_bare_name_is_truthiness() -> None:
    assert holds("major", major=True) is True
    assert holds("major", major=False) is False
    assert holds("major") is False


CONSENT = (
    "3 * participating_area >= 2 * total_area and 3 * participating_owners >= 2 * total_owners"
    " and 4 * agree_area >= 3 * participating_area and 4 * agree_owners >= 3 * participating_owners"
)
# 民法典 §278: ≥ 2/3 take part (area and owners), ≥ 3/4 of those taking part agree (area and owners)
PASSING = {
    "total_area": 12000,
    "participating_area": 8400,
    "agree_area": 6300,
    "total_owners": 180,
    "participating_owners": 120,
    "agree_owners": 90,
}


def test_consent_passes_exactly_at_three_quarters_with_integer_math() -> None:
    # 90 / 120 is exactly 3/4, 120 / 180 exactly 2/3, 8400 / 12000 above 2/3, 6300 / 8400 exactly 3/4
    assert parse_condition(CONSENT).evaluate(PASSING) is True


def test_consent_one_owner_short_fails() -> None:
    consent = parse_condition(CONSENT)
    assert consent.evaluate({**PASSING, "agree_owners": 89}) is False  # 89 / 120 < 3/4
    assert consent.evaluate({**PASSING, "participating_owners": 119, "agree_owners": 90}) is False  # 119 / 180 < 2/3
    assert consent.evaluate({**PASSING, "total_owners": 181}) is False  # 120 / 181 < 2/3
    assert consent.evaluate({**PASSING, "participating_owners": 121, "agree_owners": 91}) is True


def test_consent_by_area_fails_below_three_quarters() -> None:
    # 6200 / 8400 = 0.738...: below 3/4
    assert parse_condition(CONSENT).evaluate({**PASSING, "agree_area": 6200}) is False


def test_consent_with_a_missing_figure_fails_rather_than_raising() -> None:
    for name in PASSING:
        facts = {k: v for k, v in PASSING.items() if k != name}
        assert parse_condition(CONSENT).evaluate(facts) is False, name


def test_bundled_submit_guard_applies_the_consent_rule() -> None:
    text = files("workflows").joinpath("implementation_plan.yaml").read_text(encoding="utf-8")
    submit = next(t for t in load_spec(text).transitions if t.id == "submit")
    assert submit.condition is not None
    residential = {"renewal_type": "residential_improvement", "rebuild_or_alter": True}
    assert submit.condition.evaluate({**residential, **PASSING}) is True
    assert submit.condition.evaluate({**residential, **PASSING, "agree_area": 6200}) is False
    assert submit.condition.evaluate({**residential, **PASSING, "agree_owners": 89}) is False
    assert submit.condition.evaluate(residential) is False
    # not a rebuild, or not residential: no consent figures needed
    assert submit.condition.evaluate({**residential, "rebuild_or_alter": False}) is True
    assert submit.condition.evaluate({"renewal_type": "public_space", "rebuild_or_alter": True}) is True


@pytest.mark.parametrize(
    "source",
    ["x < 3", "x <= 3", "x > 3", "x >= 3", "3 > x", "x * 2 > 3", "2 * x + 1 >= 3", "x < 'a'", "0 < x < 10"],
)
def test_missing_field_makes_ordering_false_not_an_error(source: str) -> None:
    assert holds(source) is False
    assert holds(source, x=None) is False


@pytest.mark.parametrize("source", ["x < 3", "x == 'a' and y > 2", "x in ['a']", "x + 1 > 2"])
def test_mistyped_value_fails_the_guard(source: str) -> None:
    assert holds(source, x="三", y="two") is False


def test_missing_field_reads_as_none() -> None:
    assert holds("x == None") is True
    assert holds("x != None") is False
    assert holds("x != 3") is True
    assert holds("x in ['a', 'b']") is False
    assert holds("x not in ['a', 'b']") is True
    assert holds("not x") is True


def test_names_lists_the_fields_read() -> None:
    condition = parse_condition("not (major or cross_district) and level == 'county' and 3 * a >= b")
    assert condition.names == {"major", "cross_district", "level", "a", "b"}


def test_evaluate_reads_only_what_it_needs() -> None:
    class Strict(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            if key not in {"a"}:
                raise AssertionError(f"read {key}")
            return super().get(key, default)

    assert parse_condition("a or b").evaluate(Strict(a=True)) is True


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "len(items) > 0",
        "x.__class__",
        "level.upper() == 'CENTRAL'",
        "items[0] == 'a'",
        "items[1:] == []",
        "(lambda: True)()",
        "lambda: True",
        "x if y else z",
        "x is None",
        "x is not None",
        "{'a': 1} == x",
        "{1, 2} == x",
        "[y for y in items]",
        "x ** 2 > 1",
        "x // 2 > 1",
        "x / 2 > 1",
        "x % 2 == 0",
        "+x > 1",
        "~x == 1",
        "(x := 1)",
        "f'{x}' == 'a'",
        "[x] == items",
        "x << 2 > 1",
        "x & 1 == 1",
        "await x",
    ],
)
def test_refuses_anything_outside_the_grammar(source: str) -> None:
    with pytest.raises(ConditionInvalid) as raised:
        parse_condition(source)
    assert raised.value.code == "condition_invalid"
    assert raised.value.detail.startswith("条件表达式")


@pytest.mark.parametrize("source", ["x ==", "and x", "x = 1", "import os", "x; y", ""])
def test_syntax_errors_are_condition_invalid(source: str) -> None:
    with pytest.raises(ConditionInvalid):
        parse_condition(source)


def test_refusal_names_the_offending_construct() -> None:
    with pytest.raises(ConditionInvalid) as raised:
        parse_condition("level == 'central' and __import__('os')")
    assert "__import__('os')" in raised.value.detail


@pytest.mark.parametrize("source", ["total_area + 1", "major and total_area * 2"])
def test_arithmetic_outside_a_comparison_never_raises(source: str) -> None:
    try:
        condition = parse_condition(source)
    except ConditionInvalid:
        return  # refusing it at parse time is also correct
    assert condition.evaluate({"major": True}) is False


def test_can_both_hold_over_enum_domains() -> None:
    central, county = parse_condition("level == 'central'"), parse_condition("level == 'county'")
    domains: dict[str, list[object]] = {"level": ["central", "county"]}
    assert can_both_hold(central, county, domains) is False
    assert can_both_hold(central, central, domains) is True
    assert can_both_hold(central, None, domains) is True
    assert can_both_hold(None, None, domains) is True


def test_can_both_hold_over_booleans_and_numbers() -> None:
    local, city = parse_condition("not (major or city_level)"), parse_condition("major or city_level")
    booleans: dict[str, list[object]] = {"major": [True, False], "city_level": [True, False]}
    assert can_both_hold(local, city, booleans) is False
    assert can_both_hold(parse_condition("area > 100"), parse_condition("area < 101"), {}) is False
    assert can_both_hold(parse_condition("area > 100"), parse_condition("area < 102"), {}) is True


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), True, "1"])
def test_number_fields_take_finite_numbers_only(value: object) -> None:
    from engine.errors import InvalidData
    from engine.forms import clean_data
    from engine.spec import FieldSpec

    score = FieldSpec(name="score", type="number", label="评分")
    with pytest.raises(InvalidData, match="score"):
        clean_data([score], {"score": value})
    assert clean_data([score], {"score": 87.5}) == {"score": 87.5}
