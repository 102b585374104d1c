"""Inbox, the generated application form, and the application page with its actions and materials."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from api.problems import status_of
from api.schemas import MAX_ROW_ID, ApplicationCreate, TransitionRequest
from api.services import applications, drafts, inbox, materials, workflows
from api.services.context import Context
from engine.errors import (
    GuardFailed,
    IdempotencyKeyReused,
    InvalidData,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    TransitionNotAllowed,
    VersionConflict,
)
from web.application_view import ActionView, application_view
from web.deadline_view import UNIT_TITLES
from web.forms import INPUT_KINDS, read_form
from web.rendering import ContextDep, PageActor, PageRoute, PageRowId, VerifiedForm, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DRAFT_GONE = "该草稿已不存在（可能已在别处提交或删除），本次未处理。您填写的内容仍在下方，可以再次保存或提交。"
DRAFT_NOTICES = {
    "draft_saved": "草稿已保存在服务器上，可随时从“新建申请”页的“我的草稿”继续填写。",
    "draft_deleted": "草稿已删除。",
}
FILTER_TITLES = {"workflow": "审批事项", "state": "办理状态", "district": "区县", "renewal_type": "更新类型"}


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    context: ContextDep,
    actor: PageActor,
    view: Literal["todo", "mine", "all"] = "todo",
    workflow: str = "",
    state: str = "",
    district: str = "",
    renewal_type: str = "",
) -> HTMLResponse:
    query = inbox.InboxQuery(view, workflow or None, state or None, district or None, renewal_type or None)
    found = inbox.inbox(context, actor, query)
    values = {"inbox": found, "query": query, "filter_titles": FILTER_TITLES, "unit_titles": UNIT_TITLES}
    template = "_inbox_rows.html" if request.headers.get("hx-request") else "inbox.html"
    return render(request, template, values, actor=actor)


@router.get("/applications/new", response_class=HTMLResponse)
def new_application(
    request: Request,
    context: ContextDep,
    actor: PageActor,
    workflow: str = "",
    draft: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    notice: str = "",
) -> HTMLResponse:
    """Choose a workflow (with the caller's saved drafts), or its blank form, or a saved draft to go on with."""
    if draft is not None:
        saved = drafts.get_draft(context, actor, draft)
        values = _form_values(context, saved.workflow, saved.form_values, saved.title, draft_id=saved.id)
        values["notice"] = DRAFT_NOTICES.get(notice)
        return render(request, "application_form.html", values, actor=actor)
    if not workflow:
        values = {"workflows": workflows.list_workflows(context), "drafts": drafts.list_drafts(context, actor),
                  "notice": DRAFT_NOTICES.get(notice)}  # fmt: skip
        return render(request, "choose_workflow.html", values, actor=actor)
    return render(request, "application_form.html", _form_values(context, workflow, {}, ""), actor=actor)


@router.post("/applications/new", response_class=HTMLResponse)
def create_application(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    key = str(form.get("workflow") or "")
    spec = workflows.current_spec(context, key)
    title = str(form.get("title") or "").strip()
    read = read_form(spec.fields, form)
    if not title:
        read.errors["title"] = "请填写申请标题。"
    error, draft_id = None, _draft_id(form)
    if not read.errors:
        try:
            body = ApplicationCreate(workflow=key, title=title[:256], data=read.values, draft_id=draft_id)
            created = applications.create_application(context, actor, body)
            return redirect(request, f"/applications/{created.id}?notice=created")
        except InvalidData as invalid:
            field = str(invalid.context.get("field", ""))
            if field in spec.fields_by_name:
                read.errors[field] = invalid.detail
            else:
                error = invalid.detail
        except NotFound:  # the workflow was found above: it is the draft that is gone (submitted or deleted elsewhere)
            error, draft_id = DRAFT_GONE, None
    values = _form_values(context, key, read.raw, title, draft_id=draft_id)
    values["errors"], values["error"] = read.errors, error or f"有 {len(read.errors)} 处需要修改，请查看标红的栏目。"
    return render(request, "application_form.html", values, status_code=422, actor=actor)


@router.post("/applications/drafts", response_class=HTMLResponse)
def save_draft(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    """保存草稿: what was typed, unchecked, kept on the server until the application is created from it."""
    typed = {name.removeprefix("field."): value for name, value in form.multi_items()
             if name.startswith("field.") and isinstance(value, str)}  # fmt: skip
    entered = drafts.DraftInput(str(form.get("workflow") or ""), str(form.get("title") or ""), typed)
    draft_id = _draft_id(form)
    try:
        saved = drafts.save_draft(context, actor, draft_id, entered)
    except (InvalidData, NotFound) as refused:
        gone = isinstance(refused, NotFound)  # the draft (an unknown workflow fails again just below, as a page)
        values = _form_values(context, entered.workflow, typed, entered.title, draft_id=None if gone else draft_id)
        values["errors"] = {str(refused.context.get("field", "")): refused.detail}
        values["error"] = DRAFT_GONE if gone else refused.detail
        return render(request, "application_form.html", values, status_code=status_of(refused), actor=actor)
    return redirect(request, f"/applications/new?draft={saved.id}&notice=draft_saved")


@router.post("/applications/drafts/{draft_id}/delete")
def delete_draft(
    request: Request, draft_id: PageRowId, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    drafts.delete_draft(context, actor, draft_id)
    return redirect(request, "/applications/new?notice=draft_deleted")


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(
    request: Request, application_id: PageRowId, context: ContextDep, actor: PageActor, notice: str = ""
) -> HTMLResponse:
    view = application_view(context, actor, application_id, notice)
    values = {"view": view, "idempotency_key": uuid.uuid4().hex, "input_kinds": INPUT_KINDS}
    return render(request, "application.html", values, actor=actor)


@router.post("/applications/{application_id}/transitions/{transition}", response_class=HTMLResponse)
def fire_transition(
    request: Request,
    application_id: PageRowId,
    transition: str,
    context: ContextDep,
    actor: PageActor,
    form: VerifiedForm,
) -> Response:
    view = application_view(context, actor, application_id)
    action = next((a for a in view.actions if a.action.transition == transition), None)
    if action is None:  # the state moved on since the page was drawn: nothing to fire from here
        return redirect(request, f"/applications/{application_id}?notice=version_conflict")
    read = read_form(action.fields, form)
    comment = str(form.get("comment") or "")
    if not read.errors:
        request_body = TransitionRequest(
            expected_version=int(str(form.get("expected_version") or "0") or 0), comment=comment, data=read.values
        )
        key = str(form.get("idempotency_key") or "") or None
        try:
            applications.fire_transition(
                context, actor, applications.FireTransition(application_id, transition, request_body, key)
            )
            return redirect(request, f"/applications/{application_id}")
        except VersionConflict:
            return redirect(request, f"/applications/{application_id}?notice=version_conflict")
        except InvalidData as invalid:
            _show_invalid(action, str(invalid.context.get("field", "")), invalid.detail)
        except (GuardFailed, PermissionDenied, TransitionNotAllowed, IdempotencyKeyReused) as refused:
            action.error = refused.detail  # shown in the dialog, with everything typed kept
    action.raw, action.comment, action.is_open = read.raw, comment, True
    action.errors.update(read.errors)
    values = {"view": view, "item": action, "idempotency_key": uuid.uuid4().hex, "input_kinds": INPUT_KINDS}
    if request.headers.get("hx-request"):
        return render(request, "_action_form.html", values, actor=actor)
    return render(request, "application.html", values, status_code=422, actor=actor)


@router.post("/applications/{application_id}/materials", response_class=HTMLResponse)
def upload_material(
    request: Request, application_id: PageRowId, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    """The page's multipart upload form; a refused file redraws the page with the reason beside the form."""
    name = str(form.get("name") or "")
    upload = form.get("file")
    filename, content_type, data = "", "", b""
    if isinstance(upload, UploadFile):  # absent only when the form was tampered with: the service says why
        try:
            filename, content_type, data = upload.filename or "", upload.content_type or "", upload.file.read()
        finally:
            upload.file.close()
    try:
        materials.upload(context, actor, application_id, name, filename, content_type, data)
        return redirect(request, f"/applications/{application_id}?notice=material_uploaded")
    except (InvalidData, PayloadTooLarge, PermissionDenied, TransitionNotAllowed) as refused:
        view = application_view(context, actor, application_id)
        view.materials.name, view.materials.error = name, refused.detail
        values = {"view": view, "idempotency_key": uuid.uuid4().hex, "input_kinds": INPUT_KINDS}
        return render(request, "application.html", values, status_code=status_of(refused), actor=actor)


@router.get("/applications/{application_id}/materials/{material_id}")
def download_material(
    application_id: PageRowId, material_id: PageRowId, context: ContextDep, actor: PageActor
) -> Response:
    found = materials.download(context, actor, application_id, material_id)
    headers = {"Content-Disposition": found.content_disposition}
    return Response(found.content, media_type=found.material.content_type, headers=headers)


def _form_values(
    context: Context, workflow: str, raw: dict[str, str], title: str, draft_id: int | None = None
) -> dict[str, Any]:
    spec = workflows.current_spec(context, workflow)
    return {"spec": spec, "raw": raw, "errors": {}, "title": title, "error": None, "input_kinds": INPUT_KINDS,
            "draft_id": draft_id, "notice": None}  # fmt: skip


def _draft_id(form: FormData) -> int | None:
    """The hidden draft_id of a form resumed from a draft (a tampered value is simply no draft)."""
    text = str(form.get("draft_id") or "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ROW_ID else None


def _show_invalid(action: ActionView, field: str, detail: str) -> None:
    if field in {f.name for f in action.fields}:
        action.errors[field] = detail
    elif field == "comment":
        action.errors["comment"] = detail
    else:
        action.error = detail
