"""What the application page shows, assembled from services: data with labels, actions, timeline, diagram."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.schemas import ActionPublic, ApplicationPublic, AuditEventPublic, MaterialPublic
from api.services import applications, materials, workflows
from api.services.context import Context
from engine.runner import Actor
from engine.spec import FieldSpec, WorkflowSpec
from web.deadline_view import DeadlineView, deadline_view
from web.forms import display_value, field_specs

NOTICES = {
    "version_conflict": "该申请刚刚已被他人办理，页面已刷新为最新状态。请核对后再办理。",
    "created": "申请已保存（编制中）。可继续办理“发布方案公示”等后续事项。",
    "material_uploaded": "材料已上传，文件的 SHA-256 已记入办理记录。",
}


ACTION_TITLES = {"create": "创建申请", "material_uploaded": "上传材料"}  # audit actions that are not transitions
MATERIAL_DETAILS = (("材料", "name"), ("版本", "version"), ("文件", "filename"), ("SHA-256", "sha256"))


@dataclass
class ActionView:
    action: ActionPublic
    fields: list[FieldSpec]
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    comment: str = ""
    is_open: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    what: str
    from_title: str
    to_title: str
    comment: str
    details: list[tuple[str, str]]


@dataclass
class MaterialsView:
    """The materials section: the files, their declared names' labels, and the upload form's state."""

    items: list[MaterialPublic]
    labels: dict[str, str]  # declared material name → its Chinese label
    can_upload: bool
    max_upload_mb: float
    name: str = ""
    error: str | None = None


@dataclass
class ApplicationView:
    application: ApplicationPublic
    spec: WorkflowSpec
    data: list[tuple[str, str, str | None]]
    actions: list[ActionView]
    timeline: list[TimelineEntry]
    diagram: str
    materials: MaterialsView
    deadline: DeadlineView
    notice: str | None = None


def application_view(context: Context, actor: Actor, application_id: int, notice: str | None = None) -> ApplicationView:
    application = applications.get_application(context, actor, application_id)
    spec = workflows.runner_for(context, application.workflow, application.workflow_version).spec
    data = [(f.label, display_value(f, application.data.get(f.name)), f.help) for f in spec.fields
            if f.name in application.data]  # fmt: skip
    events = applications.audit_of(context, actor, application_id)
    return ApplicationView(
        application=application,
        spec=spec,
        data=data,
        actions=[ActionView(action, field_specs(action.fields)) for action in application.available_actions],
        timeline=[_entry(spec, event) for event in reversed(events)],
        diagram=workflows.diagram_at(context, application.workflow, application.workflow_version, application.state),
        materials=MaterialsView(
            items=materials.list_materials(context, actor, application_id),
            labels={m.name: m.label for m in spec.materials},
            can_upload=materials.may_upload(context, actor, application_id),
            max_upload_mb=context.settings.max_upload_bytes / 1_048_576,
        ),
        deadline=deadline_view(application, spec),
        notice=NOTICES.get(notice or ""),
    )


def _entry(spec: WorkflowSpec, event: AuditEventPublic) -> TimelineEntry:
    fired = [t for t in spec.transitions if t.id == event.action and event.from_state in t.source]
    fired = [t for t in fired if t.target == event.to_state] or fired  # guarded variants share an id
    fields_by_name = {f.name: f for f in fired[0].fields} if fired else {}
    given: dict[str, Any] = event.data.get("input") or {}
    if event.action == "material_uploaded":
        given = {label: event.data.get(key) for label, key in MATERIAL_DETAILS}
        given["材料"] = next((m.label for m in spec.materials if m.name == given["材料"]), given["材料"])
    details = [(fields_by_name[name].label if name in fields_by_name else name,
                display_value(fields_by_name.get(name), value)) for name, value in given.items()]  # fmt: skip
    state = spec.states_by_id
    return TimelineEntry(
        at=event.at,
        actor=event.actor,
        what=ACTION_TITLES.get(event.action) or (fired[0].title if fired else event.action),
        from_title=state[event.from_state].title if event.from_state in state else "",
        to_title=state[event.to_state].title if event.to_state in state else "",
        comment=event.comment,
        details=details,
    )
