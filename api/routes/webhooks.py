"""Webhooks: outbound subscriptions and their delivery log (admin), inbound hooks from registered sources."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import ContextDep, CurrentActor, RowId
from api.schemas import MAX_ROW_ID, ApplicationPublic
from api.services import webhooks
from api.services.webhooks import (
    DeliveryFilter,
    DeliveryPublic,
    HookRequest,
    SourceCreate,
    SourcePublic,
    SourceWithSecret,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


async def _raw_body(request: Request) -> bytes:
    return await request.body()  # the signature covers these exact bytes, so they are not parsed first


RawBody = Annotated[bytes, Depends(_raw_body)]
_SIGNED_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": HookRequest.model_json_schema()}}}
}


@router.post("/webhooks/subscriptions", status_code=201)
def create_subscription(body: SubscriptionCreate, context: ContextDep, actor: CurrentActor) -> SubscriptionWithSecret:
    return webhooks.create_subscription(context, actor, body)


@router.get("/webhooks/subscriptions")
def list_subscriptions(context: ContextDep, actor: CurrentActor) -> list[SubscriptionPublic]:
    return webhooks.list_subscriptions(context, actor)


@router.patch("/webhooks/subscriptions/{subscription_id}")
def update_subscription(
    subscription_id: RowId, body: SubscriptionUpdate, context: ContextDep, actor: CurrentActor
) -> SubscriptionPublic:
    return webhooks.update_subscription(context, actor, subscription_id, body)


@router.post("/webhooks/subscriptions/{subscription_id}/rotate-secret")
def rotate_secret(subscription_id: RowId, context: ContextDep, actor: CurrentActor) -> SubscriptionWithSecret:
    return webhooks.rotate_secret(context, actor, subscription_id)


@router.get("/webhooks/deliveries")
def list_deliveries(
    context: ContextDep,
    actor: CurrentActor,
    status: str | None = None,
    subscription_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    application_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryPublic]:
    query = DeliveryFilter(status, subscription_id, application_id, limit)
    return webhooks.list_deliveries(context, actor, query)


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: RowId, context: ContextDep, actor: CurrentActor) -> DeliveryPublic:
    return webhooks.redeliver(context, actor, delivery_id)


@router.post("/hooks/sources", status_code=201)
def create_source(body: SourceCreate, context: ContextDep, actor: CurrentActor) -> SourceWithSecret:
    return webhooks.create_source(context, actor, body)


@router.get("/hooks/sources")
def list_sources(context: ContextDep, actor: CurrentActor) -> list[SourcePublic]:
    return webhooks.list_sources(context, actor)


@router.post("/hooks/{name}", openapi_extra=_SIGNED_BODY)
def receive_hook(name: str, body: RawBody, request: Request, context: ContextDep) -> ApplicationPublic:
    """Signed per Standard Webhooks with the source's secret; fires the transition as its account."""
    return webhooks.receive_hook(context, name, body, request.headers)
