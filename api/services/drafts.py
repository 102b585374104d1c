"""Drafts: an applicant saves an unfinished application form on the server and resumes it later.

A draft holds what was typed, as strings, without validation (an unfinished form rarely is valid);
the values are checked when the application is created from it, and the draft is deleted in that
same transaction. Only its owner sees a draft: anyone else is told it does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from api.db.models import ApplicationDraft
from api.services import workflows
from api.services.context import Context
from engine.errors import InvalidData, NotFound
from engine.runner import Actor

SCHEMA_VERSION = 1
MAX_VALUE_LENGTH = 20_000
MAX_DRAFTS = 50  # per owner: a draft is a convenience, not a document store


@dataclass(frozen=True)
class DraftInput:
    workflow: str
    title: str
    form_values: dict[str, str]


@dataclass(frozen=True)
class DraftView:
    id: int
    workflow: str
    workflow_title: str
    title: str
    form_values: dict[str, str]
    created_at: datetime
    updated_at: datetime


def save_draft(context: Context, actor: Actor, draft_id: int | None, entered: DraftInput) -> DraftView:
    """Create (``draft_id`` None) or overwrite one of the actor's drafts.

    Keeps only the workflow's own fields. Raises UnknownWorkflow, NotFound (not the actor's draft),
    InvalidData for an over-long value, a different workflow than the draft's, or too many drafts.
    """
    spec = workflows.current_spec(context, entered.workflow)
    values = {name: str(value) for name, value in entered.form_values.items() if name in spec.fields_by_name}
    for name, value in values.items():
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidData(f"“{spec.fields_by_name[name].label}”过长（超过 {MAX_VALUE_LENGTH} 字）", field=name)
    now = context.clock.now()
    with context.db.write() as session:
        if draft_id is None:
            draft = _new_draft(session, actor, spec.key, now)
        else:
            draft = _own_draft(session, actor, draft_id)
            if draft.workflow_key != spec.key:
                raise InvalidData(
                    f"该草稿属于审批事项 '{draft.workflow_key}'，不能改存为 '{spec.key}'", field="workflow"
                )
        draft.title, draft.form_values, draft.updated_at = entered.title.strip()[:256], values, now
        draft.schema_version = SCHEMA_VERSION
        session.add(draft)
        session.flush()
        return _view(draft, spec.title)


def list_drafts(context: Context, actor: Actor) -> list[DraftView]:
    """The actor's drafts, the most recently saved first."""
    titles = {workflow.key: workflow.title for workflow in workflows.list_workflows(context)}
    with context.db.read() as session:
        query = select(ApplicationDraft).where(ApplicationDraft.owner_id == actor.user_id)
        rows = session.exec(query.order_by(col(ApplicationDraft.updated_at).desc(), col(ApplicationDraft.id).desc()))
        return [_view(draft, titles.get(draft.workflow_key, draft.workflow_key)) for draft in rows.all()]


def get_draft(context: Context, actor: Actor, draft_id: int) -> DraftView:
    """One of the actor's drafts; raises NotFound for anyone else's."""
    with context.db.read() as session:
        draft = _own_draft(session, actor, draft_id)
    return _view(draft, workflows.current_spec(context, draft.workflow_key).title)


def delete_draft(context: Context, actor: Actor, draft_id: int) -> None:
    with context.db.write() as session:
        session.delete(_own_draft(session, actor, draft_id))


def discard_submitted(session: Session, actor: Actor, draft_id: int, workflow: str) -> None:
    """Inside the transaction that creates the application: the draft it came from goes with it."""
    draft = _own_draft(session, actor, draft_id)
    if draft.workflow_key != workflow:
        raise InvalidData(f"该草稿属于审批事项 '{draft.workflow_key}'", field="draft_id")
    session.delete(draft)


def _new_draft(session: Session, actor: Actor, workflow: str, now: datetime) -> ApplicationDraft:
    count = len(session.exec(select(ApplicationDraft.id).where(ApplicationDraft.owner_id == actor.user_id)).all())
    if count >= MAX_DRAFTS:
        raise InvalidData(f"草稿已达 {MAX_DRAFTS} 份，请先删除不再需要的草稿", field="draft_id")
    return ApplicationDraft(owner_id=actor.user_id, workflow_key=workflow, form_values={}, created_at=now,
                            updated_at=now)  # fmt: skip


def _own_draft(session: Session, actor: Actor, draft_id: int) -> ApplicationDraft:
    draft = session.get(ApplicationDraft, draft_id)
    if draft is None or draft.owner_id != actor.user_id:
        raise NotFound(f"未找到草稿 {draft_id}", draft_id=draft_id)
    return draft


def _view(draft: ApplicationDraft, workflow_title: str) -> DraftView:
    assert draft.id is not None
    values = {name: str(value) for name, value in draft.form_values.items()}
    return DraftView(
        draft.id, draft.workflow_key, workflow_title, draft.title, values, draft.created_at, draft.updated_at
    )
