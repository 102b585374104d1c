"""Drafts of the application form, saved on the server by their owner."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ContextDep, CurrentActor, RowId
from api.services import drafts

router = APIRouter(prefix="/api/v1/drafts", tags=["drafts"])


class DraftSave(BaseModel):
    """What was typed so far: each field's value as the form posts it (a string), valid or not yet."""

    model_config = ConfigDict(extra="forbid")
    workflow: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=256)
    values: dict[str, str] = Field(default={}, max_length=500)


class DraftPublic(BaseModel):
    id: int
    workflow: str
    workflow_title: str
    title: str
    values: dict[str, str]
    created_at: datetime
    updated_at: datetime


def _public(view: drafts.DraftView) -> DraftPublic:
    return DraftPublic(
        id=view.id, workflow=view.workflow, workflow_title=view.workflow_title, title=view.title,
        values=view.form_values, created_at=view.created_at, updated_at=view.updated_at,
    )  # fmt: skip


@router.get("")
def list_drafts(context: ContextDep, actor: CurrentActor) -> list[DraftPublic]:
    """The caller's own drafts, the most recently saved first."""
    return [_public(view) for view in drafts.list_drafts(context, actor)]


@router.post("", status_code=201)
def create_draft(body: DraftSave, context: ContextDep, actor: CurrentActor) -> DraftPublic:
    return _public(drafts.save_draft(context, actor, None, drafts.DraftInput(body.workflow, body.title, body.values)))


@router.get("/{draft_id}")
def get_draft(draft_id: RowId, context: ContextDep, actor: CurrentActor) -> DraftPublic:
    return _public(drafts.get_draft(context, actor, draft_id))


@router.put("/{draft_id}")
def update_draft(draft_id: RowId, body: DraftSave, context: ContextDep, actor: CurrentActor) -> DraftPublic:
    entered = drafts.DraftInput(body.workflow, body.title, body.values)
    return _public(drafts.save_draft(context, actor, draft_id, entered))


@router.delete("/{draft_id}", status_code=204)
def delete_draft(draft_id: RowId, context: ContextDep, actor: CurrentActor) -> Response:
    drafts.delete_draft(context, actor, draft_id)
    return Response(status_code=204)
