"""HTML forms generated from a workflow's fields, and the posted strings read back into typed values.

Reading is the browser's side of validation only (a text box always posts a string): a number box
holding letters or an empty required box is reported here, next to its field, all at once. What a
value means (enum members, dates, guards) is still decided by the service, which names the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from engine.spec import FieldSpec

INPUT_KINDS = {"integer": "numeric", "number": "decimal"}  # inputmode: a digit keypad, yet letters reach the server
REQUIRED = "此项为必填项，请填写。"
BAD_VALUE = {
    "integer": "请输入整数（只含数字，例如 1200）。",
    "number": "请输入数字（例如 12.5）。",
    "boolean": "请选择“是”或“否”。",
}


@dataclass
class ReadForm:
    """What the browser sent: typed values, the raw strings (to show again), and per-field errors."""

    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def field_specs(fields: list[dict[str, Any]]) -> list[FieldSpec]:
    """An action's fields as the service lists them (plain dicts), as FieldSpecs."""
    return [FieldSpec.model_validate(item) for item in fields]


def read_form(fields: list[FieldSpec], form: FormData, prefix: str = "field.") -> ReadForm:
    result = ReadForm()
    for spec in fields:
        raw = form.get(prefix + spec.name)
        text = raw.strip() if isinstance(raw, str) else ""
        result.raw[spec.name] = text
        if not text:
            if spec.required:
                result.errors[spec.name] = REQUIRED
            continue
        value = _typed(spec, text)
        if value is _UNREADABLE:
            result.errors[spec.name] = BAD_VALUE[spec.type]
        else:
            result.values[spec.name] = value
    return result


_UNREADABLE = object()


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def _typed(spec: FieldSpec, text: str) -> object:
    if spec.type == "integer":
        return int(text) if _digits(text.removeprefix("-")) else _UNREADABLE
    if spec.type == "number":
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            return _UNREADABLE
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(text, _UNREADABLE)
    if spec.type == "reference":
        return int(text) if _digits(text) else text
    if spec.type == "list":
        return [line.strip() for line in text.splitlines() if line.strip()]
    return text  # string, text, enum, date: the service checks membership and format


def raw_values(fields: list[FieldSpec], data: dict[str, Any]) -> dict[str, str]:
    """Stored values as the strings a form shows."""
    shown: dict[str, str] = {}
    for spec in fields:
        value = data.get(spec.name)
        if value is None:
            continue
        if isinstance(value, bool):
            shown[spec.name] = "true" if value else "false"
        elif isinstance(value, list):
            shown[spec.name] = "\n".join(str(item) for item in value)
        else:
            shown[spec.name] = str(value)
    return shown


def display_value(spec: FieldSpec | None, value: object) -> str:
    """A stored value as a clerk reads it: enum labels, 是/否, one item per line."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if spec is not None and spec.enum_labels and isinstance(value, str):
        return spec.enum_labels.get(value, value)
    if isinstance(value, list):
        return "；".join(str(item) for item in value)
    return str(value)
