"""An application's materials: upload (multipart), list, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import Response

from api.deps import ContextDep, CurrentActor, RowId
from api.schemas import MaterialPublic
from api.services import materials

router = APIRouter(prefix="/api/v1/applications", tags=["materials"])


@router.post("/{application_id}/materials", status_code=201)
def upload_material(
    application_id: RowId,
    name: Annotated[str, Form(max_length=64)],
    file: UploadFile,
    context: ContextDep,
    actor: CurrentActor,
) -> MaterialPublic:
    """Multipart fields ``name`` (the material's name) and ``file``; 413 over the size limit,
    422 ``material_type_refused`` for a type not allowed or content that does not match its extension."""
    data = file.file.read()  # bounded: the body limit lets through one file of the upload limit
    return materials.upload(context, actor, application_id, name, file.filename or "", file.content_type or "", data)


@router.get("/{application_id}/materials")
def list_materials(application_id: RowId, context: ContextDep, actor: CurrentActor) -> list[MaterialPublic]:
    return materials.list_materials(context, actor, application_id)


@router.get("/{application_id}/materials/{material_id}", response_class=Response)
def download_material(application_id: RowId, material_id: RowId, context: ContextDep, actor: CurrentActor) -> Response:
    """The stored bytes as an attachment, with the stored type (X-Content-Type-Options: nosniff comes with
    every response, from web.security)."""
    found = materials.download(context, actor, application_id, material_id)
    headers = {"Content-Disposition": found.content_disposition}
    return Response(found.content, media_type=found.material.content_type, headers=headers)
