"""Webhooks: subscriptions and the delivery log (admin), and inbound hooks from registered sources.

Outbound events are written by ``outbox.record_event`` and sent by ``outbox.DeliveryWorker``.
Inbound hooks are verified with ``standardwebhooks`` against the source's secret and then fire a
transition as the source's service account, through ``applications.fire_transition``: the same
permission rules, the same ``expected_version`` check, and the webhook-id as Idempotency-Key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select
from standardwebhooks import Webhook, WebhookVerificationError

from api.db.models import (
    HookSource,
    IdempotencyRecord,
    OutboxEvent,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from api.schemas import MAX_ROW_ID, ApplicationPublic, TransitionRequest
from api.services import applications, idempotency
from api.services.applications import FireTransition
from api.services.auth import actor_by_username, require_admin
from api.services.context import Context
from engine.errors import (
    GuardFailed,
    InvalidData,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownHookSource,
    VersionConflict,
    WebhookSignatureInvalid,
)
from engine.runner import Actor

EVENT_TYPE = r"^(\*|[a-z_]+\.[a-z_]+)$"
NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://", max_length=2048)
    events: list[str] = Field(min_length=1, max_length=50)
    workflow: str | None = Field(default=None, max_length=64)


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    url: str | None = Field(default=None, pattern=r"^https?://", max_length=2048)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)


class SubscriptionPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    workflow: str | None
    enabled: bool
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str = Field(description="签名密钥，仅在创建或轮换时返回一次")


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None


class DeliveryPublic(BaseModel):
    id: int
    subscription_id: int
    webhook_id: str
    event_type: str
    application_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptPublic] = []


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    account: str = Field(min_length=1, max_length=64)


class SourcePublic(BaseModel):
    name: str
    account: str
    created_at: datetime


class SourceWithSecret(SourcePublic):
    secret: str = Field(description="签名密钥，仅在注册时返回一次")


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: int = Field(ge=1, le=MAX_ROW_ID)
    transition: str = Field(min_length=1, max_length=64)
    expected_version: int | None = Field(default=None, ge=0, le=MAX_ROW_ID)
    data: dict[str, Any] = {}
    comment: str = Field(default="", max_length=10_000)


@dataclass(frozen=True)
class DeliveryFilter:
    status: str | None = None
    subscription_id: int | None = None
    application_id: int | None = None
    limit: int = 50


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_url(url: str) -> None:
    if not _is_receiver_url(url):
        example = "https://erp.example.gov.cn/greenlane"
        raise InvalidData(
            f"无效的接收地址 '{url}'：须为 http:// 或 https:// 开头的完整网址，例如 {example}", field="url"
        )


def _is_receiver_url(url: str) -> bool:
    """More than the pattern: a receiver needs a host, and spaces or a fragment are typing slips."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return False
    has_slip = bool(parts.fragment) or any(character.isspace() for character in url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not has_slip


def _check_events(events: list[str]) -> None:
    for event in events:
        if not re.match(EVENT_TYPE, event):
            raise InvalidData(f"无效的事件类型 '{event}'（例如 application.transitioned 或 *）", field="events")


# --- subscriptions ----------------------------------------------------------------------------


def create_subscription(context: Context, actor: Actor, body: SubscriptionCreate) -> SubscriptionWithSecret:
    require_admin(actor, "管理 webhook")
    _check_url(body.url)
    _check_events(body.events)
    now = context.clock.now()
    with context.db.write() as session:
        subscription = WebhookSubscription(url=body.url, events=body.events, workflow=body.workflow,
                                           secret=new_secret(), created_at=now, updated_at=now)  # fmt: skip
        session.add(subscription)
        session.flush()
        return SubscriptionWithSecret(**_subscription_view(subscription).model_dump(), secret=subscription.secret)


def list_subscriptions(context: Context, actor: Actor) -> list[SubscriptionPublic]:
    require_admin(actor, "管理 webhook")
    with context.db.read() as session:
        rows = session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.id))).all()
        return [_subscription_view(row) for row in rows]


def update_subscription(
    context: Context, actor: Actor, subscription_id: int, body: SubscriptionUpdate
) -> SubscriptionPublic:
    """Enable, disable or re-point a subscription; a disabled one keeps its pending deliveries."""
    require_admin(actor, "管理 webhook")
    with context.db.write() as session:
        subscription = _subscription(session, subscription_id)
        if body.enabled is not None:
            subscription.is_enabled = body.enabled
        if body.url is not None:
            _check_url(body.url)
            subscription.url = body.url
        if body.events is not None:
            _check_events(body.events)
            subscription.events = body.events
        subscription.updated_at = context.clock.now()
        session.add(subscription)
        return _subscription_view(subscription)


def rotate_secret(context: Context, actor: Actor, subscription_id: int) -> SubscriptionWithSecret:
    """A new secret, returned once; the old one keeps signing (alongside) for the grace period."""
    require_admin(actor, "管理 webhook")
    now = context.clock.now()
    with context.db.write() as session:
        subscription = _subscription(session, subscription_id)
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = now + timedelta(hours=context.settings.webhook_secret_grace_hours)
        subscription.secret = new_secret()
        subscription.updated_at = now
        session.add(subscription)
        return SubscriptionWithSecret(**_subscription_view(subscription).model_dump(), secret=subscription.secret)


def _subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"未找到 webhook 订阅 {subscription_id}", subscription_id=subscription_id)
    return subscription


def _subscription_view(subscription: WebhookSubscription) -> SubscriptionPublic:
    assert subscription.id is not None
    return SubscriptionPublic(id=subscription.id, url=subscription.url, events=subscription.events,
                              workflow=subscription.workflow, enabled=subscription.is_enabled,
                              previous_secret_expires_at=subscription.previous_secret_expires_at,
                              created_at=subscription.created_at, updated_at=subscription.updated_at)  # fmt: skip


# --- the delivery log -------------------------------------------------------------------------


def list_deliveries(context: Context, actor: Actor, query: DeliveryFilter) -> list[DeliveryPublic]:
    """Newest first, each with its attempts (status, latency, error)."""
    require_admin(actor, "管理 webhook")
    statement = select(WebhookDelivery, OutboxEvent).join(OutboxEvent).order_by(col(WebhookDelivery.id).desc())
    if query.status:
        statement = statement.where(WebhookDelivery.status == query.status)
    if query.subscription_id is not None:
        statement = statement.where(WebhookDelivery.subscription_id == query.subscription_id)
    if query.application_id is not None:
        statement = statement.where(WebhookDelivery.application_id == query.application_id)
    with context.db.read() as session:
        rows = session.exec(statement.limit(max(1, min(query.limit, 200)))).all()
        return [_delivery_view(session, delivery, event) for delivery, event in rows]


def redeliver(context: Context, actor: Actor, delivery_id: int) -> DeliveryPublic:
    """Queue a delivery again now (same webhook-id), whatever its status; its log is kept."""
    require_admin(actor, "管理 webhook")
    with context.db.write() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"未找到投递记录 {delivery_id}", delivery_id=delivery_id)
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, context.clock.now()
        delivery.lease_token, delivery.leased_until, delivery.delivered_at = None, None, None
        session.add(delivery)
        event = session.get(OutboxEvent, delivery.outbox_event_id)
        assert event is not None
        return _delivery_view(session, delivery, event)


def _delivery_view(session: Session, delivery: WebhookDelivery, event: OutboxEvent) -> DeliveryPublic:
    assert delivery.id is not None
    attempts = session.exec(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id).order_by(col(WebhookAttempt.id))
    ).all()
    return DeliveryPublic(
        **delivery.model_dump(exclude={"outbox_event_id", "lease_token", "leased_until"}),
        webhook_id=event.event_id,
        event_type=event.type,
        log=[AttemptPublic.model_validate(attempt, from_attributes=True) for attempt in attempts],
    )


# --- inbound hooks ----------------------------------------------------------------------------


def create_source(context: Context, actor: Actor, body: SourceCreate) -> SourceWithSecret:
    """Register an external system acting as ``account``; raises InvalidData for an unknown account or a taken name."""
    require_admin(actor, "管理 webhook")
    now = context.clock.now()
    with context.db.write() as session:
        account = session.exec(select(User).where(User.username == body.account)).first()
        if account is None or account.id is None:
            raise InvalidData(f"未知的账号 '{body.account}'", field="account")
        if body.name == "sources" or session.exec(select(HookSource).where(HookSource.name == body.name)).first():
            raise InvalidData(f"来源名称 '{body.name}' 已被使用", field="name")
        source = HookSource(name=body.name, secret=new_secret(), account_id=account.id, created_at=now)
        session.add(source)
        return SourceWithSecret(name=source.name, account=account.username, created_at=now, secret=source.secret)


def list_sources(context: Context, actor: Actor) -> list[SourcePublic]:
    require_admin(actor, "管理 webhook")
    with context.db.read() as session:
        rows = session.exec(select(HookSource, User).join(User).order_by(col(HookSource.id))).all()
        return [SourcePublic(name=s.name, account=u.username, created_at=s.created_at) for s, u in rows]


def receive_hook(context: Context, name: str, body: bytes, headers: Mapping[str, str]) -> ApplicationPublic:
    """Verify, then fire as the source's account.

    Raises UnknownHookSource (404), WebhookSignatureInvalid (401: bad signature, or a timestamp more
    than ``webhook_tolerance_seconds`` from our clock), InvalidData, and whatever fire_transition
    raises. A webhook-id already answered returns that first answer and changes nothing.
    """
    with context.db.read() as session:
        row = session.exec(select(HookSource, User).join(User).where(HookSource.name == name)).first()
    if row is None:
        raise UnknownHookSource(f"未注册的 webhook 来源 '{name}'", source=name)
    source, account = row
    webhook_id = _verify(context, source.secret, body, headers)
    request = _parse(body)
    actor = actor_by_username(context, account.username)
    key = f"hook:{source.name}:{webhook_id}"
    if (first := _first_answer(context, actor, key)) is not None:
        return first
    try:
        return _fire(context, actor, request, key)
    except (NotFound, PermissionDenied, InvalidData, GuardFailed, TransitionNotAllowed, VersionConflict) as refused:
        if isinstance(refused, VersionConflict) and request.expected_version is None:
            raise  # we read the version for the sender, and lost a race: a retry may well succeed
        # the sender retries a message with the same webhook-id: it gets this answer again
        body_hash = hashlib.sha256(body).hexdigest()
        idempotency.record_refusal(context, actor.user_id, key, body_hash, refused)
        raise


def _fire(context: Context, actor: Actor, request: HookRequest, key: str) -> ApplicationPublic:
    expected = request.expected_version
    if expected is None:  # the source opted out of optimistic locking: act on the version in force
        expected = applications.get_application(context, actor, request.application_id).version
    transition = TransitionRequest(expected_version=expected, comment=request.comment, data=request.data)
    return applications.fire_transition(
        context, actor, FireTransition(request.application_id, request.transition, transition, key)
    )


class _ClockedWebhook(Webhook):
    """standardwebhooks checks the timestamp against the system clock; we check it against ours."""

    def __init__(self, secret: str, now: datetime, tolerance: timedelta) -> None:
        super().__init__(secret)
        self._now, self._tolerance = now, tolerance

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:  # replaces the library's private check
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=self._now.tzinfo)
        except (ValueError, OverflowError, OSError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if abs(timestamp - self._now) > self._tolerance:
            raise WebhookVerificationError("Message timestamp too old or too new")
        return timestamp


def _verify(context: Context, secret: str, body: bytes, headers: Mapping[str, str]) -> str:
    tolerance = timedelta(seconds=context.settings.webhook_tolerance_seconds)
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        _ClockedWebhook(secret, context.clock.now(), tolerance).verify(body, lowered, json_parse=False)
    except (WebhookVerificationError, ValueError, UnicodeDecodeError) as error:
        raise WebhookSignatureInvalid(f"webhook 验证失败：{error}") from None
    webhook_id = lowered["webhook-id"]
    if len(webhook_id) > 200:
        raise InvalidData("webhook-id 过长（最多 200 个字符）", field="webhook-id")
    return webhook_id


def _parse(body: bytes) -> HookRequest:
    try:
        return HookRequest.model_validate_json(body)
    except ValidationError as error:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '请求体'}：{e['msg']}" for e in error.errors()]
        raise InvalidData("请求体格式有误：" + "；".join(problems), errors=problems) from None


def _first_answer(context: Context, actor: Actor, key: str) -> ApplicationPublic | None:
    with context.db.read() as session:
        record = session.exec(
            select(IdempotencyRecord).where(IdempotencyRecord.actor_id == actor.user_id, IdempotencyRecord.key == key)
        ).first()
    if record is None or record.status_code == idempotency.PENDING:
        return None  # not answered yet: fire_transition's own claim says 409, or takes over an abandoned one
    if record.status_code == idempotency.REFUSED:
        raise idempotency.refusal_of(record)
    return ApplicationPublic.model_validate(record.response)
