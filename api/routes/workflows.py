from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ContextDep, CurrentActor
from api.schemas import ValidationResult, WorkflowDiff, WorkflowSummary, WorkflowVersionPublic
from api.services import workflow_history, workflows

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])

_YAML_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}
}


async def _yaml_text(request: Request) -> str:
    raw = await request.body()
    return raw.decode("utf-8", errors="replace")


@router.get("")
def list_workflows(context: ContextDep, actor: CurrentActor) -> list[WorkflowSummary]:
    return workflows.list_workflows(context)


@router.get("/{key}")
def get_workflow(key: str, context: ContextDep, actor: CurrentActor) -> dict[str, Any]:
    return workflows.definition(context, key)


@router.get("/{key}/diagram", response_class=PlainTextResponse)
def get_diagram(key: str, context: ContextDep, actor: CurrentActor) -> str:
    return workflows.diagram(context, key)


@router.get("/{key}/versions")
def list_versions(key: str, context: ContextDep, actor: CurrentActor) -> list[WorkflowVersionPublic]:
    """Admin: every published version, newest first, with how many applications run on each."""
    return [
        WorkflowVersionPublic.model_validate(v, from_attributes=True)
        for v in workflow_history.history(context, actor, key)
    ]


@router.get("/{key}/diff")
def diff_versions(
    key: str,
    context: ContextDep,
    actor: CurrentActor,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
) -> WorkflowDiff:
    """Admin: the unified diff of the YAML source of two versions, also as classified lines."""
    found = workflow_history.diff(context, actor, key, from_version, to_version)
    return WorkflowDiff.model_validate(found, from_attributes=True)


@router.post("/{key}/validate", openapi_extra=_YAML_BODY)
async def validate_workflow(key: str, request: Request, actor: CurrentActor) -> ValidationResult:
    """200 ``{"valid": true}``; 422 problem+json with ``valid: false`` and ``errors``."""
    return workflows.validate(key, await _yaml_text(request))


@router.put("/{key}", status_code=201, openapi_extra=_YAML_BODY)
async def publish_workflow(key: str, request: Request, context: ContextDep, actor: CurrentActor) -> Response:
    text = await _yaml_text(request)
    row, created = workflows.publish(context, actor, key, text)
    body = {**row.definition, "version": row.version, "content_hash": row.content_hash}
    return JSONResponse(body, status_code=201 if created else 200)


__all__ = ["ValidationResult", "router"]
