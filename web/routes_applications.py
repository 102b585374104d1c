"""Inbox, the generated application form, and the application page with its actions and materials."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from api.problems import status_of
from api.schemas import ApplicationCreate, TransitionRequest
from api.services import applications, inbox, materials, workflows
from engine.errors import (
    GuardFailed,
    IdempotencyKeyReused,
    InvalidData,
    PayloadTooLarge,
    PermissionDenied,
    TransitionNotAllowed,
    VersionConflict,
)
from web.application_view import ActionView, application_view
from web.forms import INPUT_KINDS, read_form
from web.rendering import ContextDep, PageActor, PageRoute, VerifiedForm, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

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
    values = {"inbox": found, "query": query, "filter_titles": FILTER_TITLES}
    template = "_inbox_rows.html" if request.headers.get("hx-request") else "inbox.html"
    return render(request, template, values, actor=actor)


@router.get("/applications/new", response_class=HTMLResponse)
def new_application(request: Request, context: ContextDep, actor: PageActor, workflow: str = "") -> HTMLResponse:
    if not workflow:
        return render(request, "choose_workflow.html", {"workflows": workflows.list_workflows(context)}, actor=actor)
    spec = workflows.current_spec(context, workflow)
    values = {"spec": spec, "raw": {}, "errors": {}, "title": "", "error": None, "input_kinds": INPUT_KINDS}
    return render(request, "application_form.html", values, actor=actor)


@router.post("/applications/new", response_class=HTMLResponse)
def create_application(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    key = str(form.get("workflow") or "")
    spec = workflows.current_spec(context, key)
    title = str(form.get("title") or "").strip()
    read = read_form(spec.fields, form)
    if not title:
        read.errors["title"] = "请填写申请标题。"
    error = None
    if not read.errors:
        try:
            created = applications.create_application(
                context, actor, ApplicationCreate(workflow=key, title=title[:256], data=read.values)
            )
            return redirect(request, f"/applications/{created.id}?notice=created")
        except InvalidData as invalid:
            field = str(invalid.context.get("field", ""))
            if field in spec.fields_by_name:
                read.errors[field] = invalid.detail
            else:
                error = invalid.detail
    values = {"spec": spec, "raw": read.raw, "errors": read.errors, "title": title, "input_kinds": INPUT_KINDS,
              "error": error or f"有 {len(read.errors)} 处需要修改，请查看标红的栏目。"}  # fmt: skip
    return render(request, "application_form.html", values, status_code=422, actor=actor)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(
    request: Request, application_id: int, context: ContextDep, actor: PageActor, notice: str = ""
) -> HTMLResponse:
    view = application_view(context, actor, application_id, notice)
    values = {"view": view, "idempotency_key": uuid.uuid4().hex, "input_kinds": INPUT_KINDS}
    return render(request, "application.html", values, actor=actor)


@router.post("/applications/{application_id}/transitions/{transition}", response_class=HTMLResponse)
def fire_transition(
    request: Request, application_id: int, transition: str, context: ContextDep, actor: PageActor, form: VerifiedForm
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
    request: Request, application_id: int, context: ContextDep, actor: PageActor, form: VerifiedForm
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
def download_material(application_id: int, material_id: int, context: ContextDep, actor: PageActor) -> Response:
    found = materials.download(context, actor, application_id, material_id)
    headers = {"Content-Disposition": found.content_disposition}
    return Response(found.content, media_type=found.material.content_type, headers=headers)


def _show_invalid(action: ActionView, field: str, detail: str) -> None:
    if field in {f.name for f in action.fields}:
        action.errors[field] = detail
    elif field == "comment":
        action.errors["comment"] = detail
    else:
        action.error = detail
