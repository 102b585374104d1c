from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from api.deps import ContextDep, CurrentActor, RowId
from api.schemas import ApplicationCreate, ApplicationPage, ApplicationPublic, AuditEventPublic, TransitionRequest
from api.services import applications
from api.services.applications import FireTransition, ListFilter

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])


@router.post("", status_code=201)
def create_application(
    body: ApplicationCreate,
    context: ContextDep,
    actor: CurrentActor,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> ApplicationPublic:
    return applications.create_application(context, actor, body, idempotency_key)


@router.get("")
def list_applications(
    context: ContextDep,
    actor: CurrentActor,
    workflow: str | None = None,
    state: str | None = None,
    mine: bool = False,
    actionable: bool = False,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ApplicationPage:
    query = ListFilter(workflow, state, mine, actionable, overdue, limit, cursor)
    return applications.list_applications(context, actor, query)


@router.get("/{application_id}")
def get_application(application_id: RowId, context: ContextDep, actor: CurrentActor) -> ApplicationPublic:
    return applications.get_application(context, actor, application_id)


@router.post("/{application_id}/transitions/{transition}")
def fire_transition(
    application_id: RowId,
    transition: str,
    body: TransitionRequest,
    context: ContextDep,
    actor: CurrentActor,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> ApplicationPublic:
    command = FireTransition(application_id, transition, body, idempotency_key)
    return applications.fire_transition(context, actor, command)


@router.get("/{application_id}/audit")
def application_audit(application_id: RowId, context: ContextDep, actor: CurrentActor) -> list[AuditEventPublic]:
    return applications.audit_of(context, actor, application_id)
