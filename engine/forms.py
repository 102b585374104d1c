"""Validate form data against the fields a workflow (or one of its transitions) declares."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import InvalidData
from engine.spec import FieldSpec, MaterialSpec

MATERIALS_KEY = "materials"  # data["materials"] maps a declared material name to its document ref
# data["supplement_notices"]: the 补正 notices of the current step, written by the engine, never by a client
NOTICES_KEY = "supplement_notices"
# data["submitted_by"]: the user ids that fired a submit, written by the engine (separation of duties)
SUBMITTERS_KEY = "submitted_by"

_TYPE_NAMES = {
    "string": "文本",
    "text": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否（true/false）",
    "date": "日期（YYYY-MM-DD）",
    "enum": "给定选项之一",
    "reference": "申请编号或文号",
    "list": "文本列表",
}


def clean_data(
    fields: Iterable[FieldSpec],
    data: Mapping[str, Any],
    *,
    materials: Iterable[MaterialSpec] = (),
    enforce_required: bool = True,
) -> dict[str, Any]:
    """Return ``data`` checked against ``fields``; raises InvalidData naming the first bad field."""
    declared = {field.name: field for field in fields}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name == MATERIALS_KEY and materials:
            cleaned[name] = _clean_materials(value, {m.name for m in materials})
            continue
        field = declared.get(name)
        if field is None:
            raise InvalidData(f"未声明的字段 '{name}'", field=name)
        if value is not None:
            cleaned[name] = _clean_value(field, value)
    if enforce_required:
        for field in declared.values():
            if field.required and is_blank(cleaned.get(field.name)):
                raise InvalidData(f"缺少必填字段 '{field.name}'（{field.label}）", field=field.name)
    return cleaned


def is_blank(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _clean_value(field: FieldSpec, value: object) -> object:
    if (cleaned := _coerce(field, value)) is _INVALID:
        raise InvalidData(
            f"字段 '{field.name}'（{field.label}）应为{_TYPE_NAMES[field.type]}",
            field=field.name,
            expected=field.type,
        )
    return cleaned


_INVALID = object()


def _coerce(field: FieldSpec, value: object) -> object:
    kind = field.type
    if kind in ("string", "text"):
        return value if isinstance(value, str) else _INVALID
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else _INVALID
    if kind == "number":
        return _finite_number(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else _INVALID
    if kind == "enum":
        return value if isinstance(value, str) and value in (field.enum or []) else _INVALID
    if kind == "date":
        return _iso_date(value)
    if kind == "reference":
        # a Greenlane application id, or the 文号 of a document approved outside Greenlane
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return value.strip() if isinstance(value, str) and value.strip() else _INVALID
    if kind == "list":
        is_text_list = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        return value if is_text_list else _INVALID
    return _INVALID


def _finite_number(value: object) -> object:
    """JSON allows 1e999 (inf) and NaN; PostgreSQL's JSONB and the guards do not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _INVALID
    return value if math.isfinite(value) else _INVALID


def _iso_date(value: object) -> object:
    if not isinstance(value, str):
        return _INVALID
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        return _INVALID


def _clean_materials(value: object, declared: set[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidData("materials 应为「材料名: 文件编号」的映射", field=MATERIALS_KEY)
    for name, reference in value.items():
        if name not in declared:
            raise InvalidData(f"未声明的材料 '{name}'", field=f"{MATERIALS_KEY}.{name}")
        if not isinstance(reference, str) or not reference.strip():
            raise InvalidData(f"材料 '{name}' 应给出文件编号", field=f"{MATERIALS_KEY}.{name}")
    return dict(value)
