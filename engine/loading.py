"""Load a workflow from YAML text: parse, validate structure and meaning, locate every problem.

``load_spec`` either returns a frozen WorkflowSpec or raises SpecInvalid carrying every
problem at once, each with its line and key path, in Chinese for the admin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from io import StringIO
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from engine.checks import Loc, check_spec
from engine.errors import SpecInvalid, SpecProblem
from engine.spec import WorkflowSpec

# pydantic's English messages, translated by error type.
_MESSAGES_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的键（是否拼写错误？）",
    "literal_error": "取值无效，应为：{expected}",
    "string_type": "应为文本",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "model_type": "应为映射（键: 值）",
    "model_attributes_type": "应为映射（键: 值）",
    "string_pattern_mismatch": "只能使用小写字母、数字和下划线，并以字母开头",
    "too_short": "不能为空",
    "union_tag_invalid": "格式无效",
}


def load_spec(text: str, file: str = "<workflow>") -> WorkflowSpec:
    """Parse and validate; raises SpecInvalid listing every problem with its line."""
    document = _parse_yaml(text, file)
    lines = line_of_each_key(document)
    try:
        spec = WorkflowSpec.model_validate(_plain(document))
    except ValidationError as error:
        problems = [_pydantic_problem(e, document, lines) for e in error.errors()]
        raise SpecInvalid(_unique(problems), file) from None
    semantic = []
    for loc, message in check_spec(spec):
        located = _resolve(loc, document)  # drops the [0] of a single `by:` mapping the model wrapped in a list
        semantic.append(SpecProblem(_line_for(located, lines), _render(located), message))
    if semantic:
        raise SpecInvalid(semantic, file)
    return spec


def content_hash(spec: WorkflowSpec) -> str:
    """Hash of the validated content: re-indenting or re-commenting is not a new version."""
    canonical = json.dumps(spec.public_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _parse_yaml(text: str, file: str) -> CommentedMap:
    try:
        document = YAML(typ="rt").load(StringIO(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise SpecInvalid([SpecProblem(line, "", f"YAML 语法错误：{error.problem}")], file) from None
    except YAMLError as error:
        raise SpecInvalid([SpecProblem(1, "", f"YAML 语法错误：{error}")], file) from None
    if not isinstance(document, CommentedMap):
        raise SpecInvalid([SpecProblem(1, "", "工作流定义应为 YAML 映射（键: 值）")], file)
    return document


def line_of_each_key(node: object, prefix: Loc = ()) -> dict[Loc, int]:
    """Map each key path of the YAML tree to its 1-based line."""
    lines: dict[Loc, int] = {}
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            position = node.lc.data.get(key)  # a key merged in from an anchor (<<:) has none here
            lines[(*prefix, key)] = (position[0] if position else node.lc.line) + 1
            lines |= line_of_each_key(value, (*prefix, key))
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            lines[(*prefix, index)] = node.lc.item(index)[0] + 1
            lines |= line_of_each_key(value, (*prefix, index))
    return lines


def _plain(node: object) -> Any:
    if isinstance(node, CommentedMap):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(value) for value in node]
    return node


def _pydantic_problem(error: Any, document: object, lines: dict[Loc, int]) -> SpecProblem:
    loc = _resolve(error["loc"], document)
    template = _MESSAGES_ZH.get(error["type"])
    if error["type"] == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
    elif template is not None:
        message = template.format(**{k: str(v) for k, v in (error.get("ctx") or {}).items()})
    else:
        message = f"格式错误：{error['msg']}"
    return SpecProblem(_line_for(loc, lines), _render(loc), message)


def _resolve(loc: Sequence[str | int], document: object) -> Loc:
    """Keep the parts of pydantic's loc that exist in the document (drops union tags)."""
    resolved: list[str | int] = []
    node: Any = document
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if (isinstance(node, dict) and part in node) or in_list:
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part.islower():
            resolved.append(part)  # a missing key: named, located at its parent
            break
        else:
            continue
        resolved.append(part)
    return tuple(resolved)


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _render(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _unique(problems: list[SpecProblem]) -> list[SpecProblem]:
    seen: set[tuple[int, str, str]] = set()
    kept = []
    for problem in problems:
        key = (problem.line, problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept
