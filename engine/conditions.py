"""A small, safe condition language over form data.

Grammar (a strict subset of Python expression syntax, parsed by ``ast`` and then
walked by our own evaluator; nothing is ever compiled or ``eval``-ed):

    expr    := expr 'and' expr | expr 'or' expr | 'not' expr | compare | name | literal
    compare := operand (op operand)+        op: == != < <= > >= in 'not in'
    operand := name | literal | '[' literal, ... ']' | operand ('+' | '-' | '*') operand
    literal := string | integer | float | True | False | None

A name is a form field (or a fact the engine derives, such as ``level``); a field the
application has not filled in reads as ``None``. Ordering comparisons with ``None`` or
across types are false rather than errors, so a guard over a missing field simply fails.
"""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.errors import ConditionInvalid

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: _contains(right, left),
    ast.NotIn: lambda left, right: not _contains(right, left),
}


def _contains(container: object, item: object) -> bool:
    return isinstance(container, list | tuple | str) and item in container


@dataclass(frozen=True)
class Condition:
    """A parsed condition; ``evaluate`` reads only the names it mentions."""

    source: str
    tree: ast.expr

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name))

    @cached_property
    def constants(self) -> dict[str, set[object]]:
        """The literals each name is compared with: the interesting values for the ambiguity check."""
        found: dict[str, set[object]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                names = [n.id for n in operands if isinstance(n, ast.Name)]
                for name in names:
                    for literal in operands:
                        found.setdefault(name, set()).update(_literal_values(literal))
        return found

    @cached_property
    def numbers(self) -> frozenset[int]:
        """Integer literals anywhere in the condition."""
        found = (n.value for n in ast.walk(self.tree) if isinstance(n, ast.Constant))
        return frozenset(v for v in found if isinstance(v, int) and not isinstance(v, bool))

    def evaluate(self, facts: Mapping[str, object]) -> bool:
        return bool(_evaluate(self.tree, facts))


def _literal_values(node: ast.expr) -> list[object]:
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        return [element.value for element in node.elts if isinstance(element, ast.Constant)]
    return []


def parse_condition(source: str) -> Condition:
    """Parse ``source``; raises ConditionInvalid naming the first construct outside the grammar."""
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as error:
        raise ConditionInvalid(f"条件表达式语法错误：{source!r}（第 {error.offset} 个字符附近）") from None
    _check_grammar(tree, source)
    return Condition(source, tree)


def _check_grammar(node: ast.expr, source: str) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_grammar(value, source)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check_grammar(node.operand, source)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in _COMPARE for op in node.ops):
            raise ConditionInvalid(f"条件表达式中有不支持的比较运算：{source!r}")
        for operand in (node.left, *node.comparators):
            _check_operand(operand, source)
    elif isinstance(node, ast.Name | ast.Constant):
        return  # a boolean field or literal on its own
    else:
        _check_operand(node, source)  # names the construct it refuses
        raise ConditionInvalid(f"算术运算只能出现在比较中：{source!r}")


_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}


def _check_operand(node: ast.expr, source: str) -> None:
    if isinstance(node, ast.Name | ast.Constant):
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return  # a negative literal
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        _check_operand(node.left, source)
        _check_operand(node.right, source)
        return
    if isinstance(node, ast.List | ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
        return
    snippet = ast.get_source_segment(source.strip(), node) or type(node).__name__
    raise ConditionInvalid(f"条件表达式只允许字段名、常量、比较和 and/or/not：不支持 {snippet!r}")


def _evaluate(node: ast.expr, facts: Mapping[str, object]) -> object:
    if isinstance(node, ast.BoolOp):
        values = (bool(_evaluate(value, facts)) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, facts)
        return _arithmetic(operator.neg, 0, operand) if isinstance(node.op, ast.USub) else not operand
    if isinstance(node, ast.Compare):
        return _evaluate_compare(node, facts)
    if isinstance(node, ast.Name):
        return facts.get(node.id)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(element, facts) for element in node.elts]
    if isinstance(node, ast.BinOp):
        return _arithmetic(_ARITHMETIC[type(node.op)], _evaluate(node.left, facts), _evaluate(node.right, facts))
    raise ConditionInvalid(f"无法求值：{type(node).__name__}")  # unreachable after _check_grammar


def _arithmetic(function: Callable[..., Any], left: object, right: object) -> object:
    """Numbers only: a missing field (None) or text makes the comparison fail, and no string
    repetition can allocate gigabytes."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right)):
        raise TypeError("arithmetic on a non-number")
    return function(right) if function is operator.neg else function(left, right)


def _evaluate_compare(node: ast.Compare, facts: Mapping[str, object]) -> bool:
    try:
        left = _evaluate(node.left, facts)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, facts)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
    except TypeError:  # e.g. None < 3 or None * 4: a missing or mistyped value fails the guard
        return False
    return True


def can_both_hold(first: Condition | None, second: Condition | None, domains: Mapping[str, list[object]]) -> bool:
    """Whether some assignment of the names both conditions read makes both true.

    ``domains`` gives the possible values of enum and boolean fields; for other names we try
    the literals the conditions compare them with, one step either side, and ``None``.
    """
    conditions = [c for c in (first, second) if c is not None]
    names = sorted(set().union(*(c.names for c in conditions))) if conditions else []
    choices = [_candidate_values(name, conditions, domains) for name in names]
    for values in itertools.islice(itertools.product(*choices), 20000):
        facts = dict(zip(names, values, strict=True))
        if all(c.evaluate(facts) for c in conditions):
            return True
    return False


def _candidate_values(name: str, conditions: Iterable[Condition], domains: Mapping[str, list[object]]) -> list[object]:
    if name in domains:
        return [*domains[name], None]
    conditions = list(conditions)
    values: set[object] = {None}
    for condition in conditions:
        values.update(condition.constants.get(name, ()))
    numbers = {v for c in conditions for v in c.numbers}
    # a name inside arithmetic (2 * area > 20) crosses its threshold near a quotient of the literals
    pivots: set[float] = {*numbers, *(a // b for a in numbers for b in numbers if b)}
    pivots.update(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))
    values.update(p + step for p in pivots for step in (-1, 0, 1))
    return list(values)
