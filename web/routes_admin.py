"""Admin: the workflow list, the YAML editor with live validation and diagram, publishing, version history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.services import workflows
from engine.errors import InvalidData, SpecInvalid
from web.rendering import ContextDep, PageActor, PageRoute, VerifiedForm, redirect, render

router = APIRouter(prefix="/admin/workflows", route_class=PageRoute, include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def workflow_list(request: Request, context: ContextDep, actor: PageActor) -> HTMLResponse:
    return render(request, "workflows.html", {"workflows": workflows.list_workflows(context)}, actor=actor)


@router.get("/{key}", response_class=HTMLResponse)
def editor(request: Request, key: str, context: ContextDep, actor: PageActor, published: int = 0) -> HTMLResponse:
    history = workflows.history(context, actor, key)
    source = workflows.current_version(context, key).source
    notice = f"已发布为第 {published} 版。进行中的申请仍按原版本办理。" if published else None
    values = {"key": key, "source": source, "history": history, "errors": [], "notice": notice, "error": None}
    return render(request, "workflow_editor.html", values, actor=actor)


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
        errors = workflows.preview(key, source)[0].errors
        error = f"未发布：{invalid.message_zh}请按下列提示修改后再发布，您的修改仍保留在编辑器中。"
        values = {"key": key, "source": source, "history": workflows.history(context, actor, key), "errors": errors,
                  "notice": None, "error": error}  # fmt: skip
        return render(request, "workflow_editor.html", values, status_code=422, actor=actor)
    if not created:
        values = {"key": key, "source": source, "history": workflows.history(context, actor, key), "errors": [],
                  "notice": f"内容与现行第 {row.version} 版相同，未产生新版本。", "error": None}  # fmt: skip
        return render(request, "workflow_editor.html", values, actor=actor)
    return redirect(request, f"/admin/workflows/{key}?published={row.version}")
