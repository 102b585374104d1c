"""A user's inbox: the applications they can act on (or their own), filtered and counted per filter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import select

from api.db.models import District
from api.schemas import ApplicationPublic
from api.services import applications, workflows
from api.services.context import Context
from engine.runner import Actor
from engine.spec import FieldSpec

View = Literal["todo", "mine", "all"]
FILTERS = ("workflow", "state", "district", "renewal_type")
MAX_ROWS = 500  # an office inbox longer than this needs narrower filters, not a longer page


@dataclass(frozen=True)
class InboxQuery:
    view: View = "todo"
    workflow: str | None = None
    state: str | None = None
    district: str | None = None
    renewal_type: str | None = None

    def value(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class InboxRow:
    application: ApplicationPublic
    workflow_title: str
    district_label: str
    renewal_type_label: str
    is_overdue: bool
    is_due_soon: bool


@dataclass(frozen=True)
class FilterOption:
    value: str
    label: str
    count: int


@dataclass
class Inbox:
    rows: list[InboxRow]
    options: dict[str, list[FilterOption]] = field(default_factory=dict)
    total: int = 0
    truncated: bool = False


def inbox(context: Context, actor: Actor, query: InboxQuery) -> Inbox:
    """``todo``: what ``actor`` can act on now; ``mine``: their organisation's; ``all``: all they may see.

    Each filter's options are counted under the other active filters, so a count is what a click shows.
    """
    listing = applications.ListFilter(actionable=query.view == "todo", mine=query.view == "mine", limit=200)
    items: list[ApplicationPublic] = []
    while True:
        page = applications.list_applications(context, actor, listing)
        items.extend(page.items)
        if page.next_cursor is None or len(items) >= MAX_ROWS:
            break
        listing = applications.ListFilter(**{**listing.__dict__, "cursor": page.next_cursor})
    rows = [_row(context, item) for item in items[:MAX_ROWS]]
    keys: dict[str, Callable[[InboxRow], tuple[str, str]]] = {
        "workflow": lambda r: (r.application.workflow, r.workflow_title),
        "state": lambda r: (r.application.state, r.application.state_title),
        "district": lambda r: (str(r.application.data.get("district") or ""), r.district_label),
        "renewal_type": lambda r: (str(r.application.data.get("renewal_type") or ""), r.renewal_type_label),
    }
    options: dict[str, list[FilterOption]] = {}
    for name, key in keys.items():
        others = [
            r for r in rows if all(_matches(query, other, keys[other](r)[0]) for other in FILTERS if other != name)
        ]
        counted = Counter(key(r) for r in others if key(r)[0])
        options[name] = [FilterOption(value, label, n) for (value, label), n in sorted(counted.items())]
    shown = [r for r in rows if all(_matches(query, name, keys[name](r)[0]) for name in FILTERS)]
    return Inbox(rows=shown, options=options, total=len(rows), truncated=len(items) > MAX_ROWS)


def _matches(query: InboxQuery, name: str, value: str) -> bool:
    wanted = query.value(name)
    return not wanted or wanted == value


def _row(context: Context, item: ApplicationPublic) -> InboxRow:
    spec = workflows.runner_for(context, item.workflow, item.workflow_version).spec
    is_period = item.clock is not None and item.clock.unit == "natural_days"  # 公示: a minimum, not a deadline
    is_overdue = item.deadline is not None and item.deadline < context.clock.now() and not is_period
    return InboxRow(
        application=item,
        workflow_title=spec.title,
        district_label=_enum_label(context, spec.fields_by_name.get("district"), item.data.get("district")),
        renewal_type_label=_enum_label(context, spec.fields_by_name.get("renewal_type"), item.data.get("renewal_type")),
        is_overdue=is_overdue,
        is_due_soon=not is_overdue and item.clock is not None and item.clock.due_soon,
    )


def _enum_label(context: Context, field_spec: FieldSpec | None, value: object) -> str:
    if not isinstance(value, str) or not value:
        return ""
    labels = (field_spec.enum_labels if field_spec else None) or {}
    if value in labels:
        return str(labels[value])
    with context.db.read() as session:
        district = session.exec(select(District).where(District.code == value)).first()
    return district.name if district else value
