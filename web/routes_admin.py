"""Admin: the workflow list, the YAML editor with live validation and diagram, publishing, version history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.services import workflow_history, workflows
from api.services.context import Context
from engine.errors import InvalidData, SpecInvalid
from engine.runner import Actor
from web.rendering import ContextDep, PageActor, PageRoute, VerifiedForm, redirect, render

router = APIRouter(prefix="/admin/workflows", route_class=PageRoute, include_in_schema=False)

# version numbers in a query: bounded like the column, so a huge number is a page saying so, not a 500
FromVersion = Annotated[int | None, Query(alias="from", ge=1, le=2**31 - 1)]
ToVersion = Annotated[int | None, Query(alias="to", ge=1, le=2**31 - 1)]


@router.get("", response_class=HTMLResponse)
def workflow_list(request: Request, context: ContextDep, actor: PageActor) -> HTMLResponse:
    return render(request, "workflows.html", {"workflows": workflows.list_workflows(context)}, actor=actor)


@router.get("/{key}", response_class=HTMLResponse)
def editor(request: Request, key: str, context: ContextDep, actor: PageActor, published: int = 0) -> HTMLResponse:
    values = _editor_values(context, actor, key, workflows.current_version(context, key).source)
    values["notice"] = f"已发布为第 {published} 版。进行中的申请仍按原版本办理。" if published else None
    return render(request, "workflow_editor.html", values, actor=actor)


@router.get("/{key}/history", response_class=HTMLResponse)
def version_history(
    request: Request,
    key: str,
    context: ContextDep,
    actor: PageActor,
    from_version: FromVersion = None,
    to_version: ToVersion = None,
) -> HTMLResponse:
    """The versions with their application counts, and the diff of two (by default the newest and the one before)."""
    history = workflow_history.history(context, actor, key)
    newest = history[0].version
    to_version = to_version or newest
    from_version = from_version or (to_version - 1 if to_version > 1 else to_version)
    diff = workflow_history.diff(context, actor, key, from_version, to_version)
    values = {"key": key, "title": history[0].title, "history": history, "diff": diff}
    return render(request, "workflow_history.html", values, actor=actor)


@router.post("/{key}/validate")
def validate(key: str, actor: PageActor, form: VerifiedForm) -> JSONResponse:
    """Called as the admin types: the server's own validator, so the editor and publishing always agree."""
    result, diagram = workflows.preview(key, str(form.get("source") or ""))
    return JSONResponse({**result.model_dump(), "diagram": diagram})


@router.post("/{key}", response_class=HTMLResponse)
def publish(request: Request, key: str, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    source = str(form.get("source") or "")
    try:
        row, created = workflows.publish(context, actor, key, source)
    except (SpecInvalid, InvalidData) as invalid:
        values = _editor_values(context, actor, key, source)
        values["errors"] = workflows.preview(key, source)[0].errors
        values["error"] = f"未发布：{invalid.message_zh}请按下列提示修改后再发布，您的修改仍保留在编辑器中。"
        return render(request, "workflow_editor.html", values, status_code=422, actor=actor)
    if not created:
        values = _editor_values(context, actor, key, source)
        values["notice"] = f"内容与现行第 {row.version} 版相同，未产生新版本。"
        return render(request, "workflow_editor.html", values, actor=actor)
    return redirect(request, f"/admin/workflows/{key}?published={row.version}")


def _editor_values(context: Context, actor: Actor, key: str, source: str) -> dict[str, Any]:
    history = workflow_history.history(context, actor, key)
    return {"key": key, "source": source, "history": history, "errors": [], "notice": None, "error": None}
