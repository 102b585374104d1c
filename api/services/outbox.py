"""The transactional outbox and its delivery worker.

``record_event`` runs inside the transaction that changes an application, so an event exists
exactly when its change committed. The worker then delivers each event to each matching
subscription, signed per Standard Webhooks, retried with jittered exponential backoff until a 2xx
or ``webhook_max_attempts`` (dead letter). A claim is a lease: a worker killed mid-batch leaves
its rows pending, claimed again once the lease runs out, so every event is delivered at least
once, always with the same ``webhook-id``. Per (subscription, application) only the oldest
pending delivery is claimable, which keeps each application's events in order.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, exists, or_, select, update
from standardwebhooks import Webhook

from api.db.models import Application, AuditEvent, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from api.services.context import Context
from api.settings import Settings

log = structlog.get_logger(__name__)
SCHEMA_VERSION = 1


def record_event(session: Session, event_type: str, application: Application, audit: AuditEvent) -> OutboxEvent:
    """Write the event and one pending delivery per matching subscription, in the caller's transaction."""
    data = {"application": _snapshot(application), "audit": _audit(audit)}
    return _record(session, event_type, application, audit.at, data, audit.seq)


def record_notice(
    session: Session, event_type: str, application: Application, at: datetime, notice: dict[str, Any]
) -> OutboxEvent:
    """An event that changes nothing and so has no audit entry (a reminder), in the caller's transaction."""
    return _record(session, event_type, application, at, {"application": _snapshot(application), **notice}, None)


def _record(
    session: Session, event_type: str, application: Application, at: datetime, data: dict[str, Any],
    audit_seq: int | None,
) -> OutboxEvent:  # fmt: skip
    assert application.id is not None
    event_id = f"msg_{uuid.uuid4().hex}"
    payload = {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": f"/api/v1/applications/{application.id}",
        "subject": str(application.id),
        "time": at.isoformat(),
        "datacontenttype": "application/json",
        "schema_version": SCHEMA_VERSION,
        "data": data,
    }
    event = OutboxEvent(event_id=event_id, type=event_type, application_id=application.id, audit_seq=audit_seq,
                        payload=payload, created_at=at)  # fmt: skip
    session.add(event)
    subscriptions = session.exec(select(WebhookSubscription).where(col(WebhookSubscription.is_enabled))).all()
    matching = [s for s in subscriptions if _matches(s, event_type, application.workflow_key)]
    if matching:
        session.flush()  # the deliveries need the event's id
        assert event.id is not None
        for subscription in matching:
            assert subscription.id is not None
            session.add(WebhookDelivery(subscription_id=subscription.id, outbox_event_id=event.id,
                                        application_id=application.id, next_attempt_at=at,
                                        created_at=at))  # fmt: skip
    return event


def _matches(subscription: WebhookSubscription, event_type: str, workflow_key: str) -> bool:
    wanted = "*" in subscription.events or event_type in subscription.events
    return wanted and subscription.workflow in (None, workflow_key)


def _snapshot(application: Application) -> dict[str, Any]:
    return {
        "id": application.id,
        "workflow": application.workflow_key,
        "workflow_version": application.workflow_version,
        "title": application.title,
        "state": application.state,
        "outcome": application.outcome,
        "version": application.version,
        "data": application.data,
        "applicant_organisation": application.applicant_organisation,
        "district": application.district,
        "created_at": application.created_at.isoformat(),
        "updated_at": application.updated_at.isoformat(),
    }


def _audit(audit: AuditEvent) -> dict[str, Any]:
    return {"seq": audit.seq, "hash": audit.hash, "prev_hash": audit.prev_hash, "action": audit.action,
            "actor": audit.actor, "from_state": audit.from_state, "to_state": audit.to_state,
            "comment": audit.comment}  # fmt: skip


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, plus the previous one while its grace period lasts."""
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and now < expires:
        return [subscription.secret, subscription.previous_secret]
    return [subscription.secret]


def signed_headers(secrets: list[str], webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks headers; one ``v1,`` signature per valid secret, space-separated."""
    signatures = " ".join(Webhook(secret).sign(webhook_id, at, body) for secret in secrets)
    return {"content-type": "application/json", "user-agent": "Greenlane-Webhooks/1",
            "webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures}  # fmt: skip


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    lease_token: str
    attempts: int
    url: str
    secrets: list[str]
    webhook_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    latency_ms: int | None
    error: str | None

    @property
    def is_success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def http_client(settings: Settings) -> httpx.Client:
    timeout = httpx.Timeout(settings.webhook_read_timeout, connect=settings.webhook_connect_timeout)
    return httpx.Client(timeout=timeout, follow_redirects=False)


class DeliveryWorker:
    """Claims due deliveries and sends them: ``run_once`` is one batch, ``drain`` runs batches until idle
    (api.app runs ``drain`` in a PeriodicWorker thread; tests call ``run_once`` with the fixed clock).

    Safe with several processes: on PostgreSQL the claim skips rows another worker has locked
    (FOR UPDATE SKIP LOCKED); everywhere, the lease is set by compare-and-set, so on SQLite too
    only one claimer wins a row.
    """

    def __init__(self, context: Context, client: httpx.Client, rng: random.Random | None = None) -> None:
        self.context = context
        self.client = client
        self.settings = context.settings
        self._random = rng or random.Random()

    def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch, send each delivery, record each result; returns how many were sent."""
        jobs = self._claim(now or self.context.clock.now())
        for job in jobs:
            outcome = self._send(job)
            self._record(job, outcome)
        return len(jobs)

    def drain(self, limit: int = 1000) -> int:
        """Run batches until nothing is due (a lane's next event becomes due once its head is done)."""
        sent = 0
        for _ in range(limit):
            if not (count := self.run_once()):
                break
            sent += count
        return sent

    def _claim(self, now: datetime) -> list[_Job]:
        token = uuid.uuid4().hex
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        with self.context.db.write() as session:
            candidates = session.exec(self._due(now)).all()
            jobs = []
            for delivery in candidates:
                claimed = session.exec(  # compare-and-set: a concurrent claimer (other process) loses
                    update(WebhookDelivery)
                    .where(col(WebhookDelivery.id) == delivery.id, col(WebhookDelivery.status) == "pending")
                    .where(or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) <= now))
                    .values(lease_token=token, leased_until=lease_until)
                ).rowcount
                if claimed == 1:
                    jobs.append(self._job(session, delivery, token, now))
            return jobs

    def _due(self, now: datetime) -> Any:
        earlier = aliased(WebhookDelivery)
        blocked = exists().where(  # an older pending delivery in the same lane goes first
            col(earlier.subscription_id) == col(WebhookDelivery.subscription_id),
            col(earlier.application_id) == col(WebhookDelivery.application_id),
            col(earlier.status) == "pending",
            col(earlier.id) < WebhookDelivery.id,
        )
        return (
            select(WebhookDelivery)
            .join(WebhookSubscription, col(WebhookSubscription.id) == WebhookDelivery.subscription_id)
            .where(col(WebhookDelivery.status) == "pending", col(WebhookDelivery.next_attempt_at) <= now)
            .where(or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) <= now))
            .where(col(WebhookSubscription.is_enabled), ~blocked)
            .order_by(col(WebhookDelivery.id))
            .limit(self.settings.webhook_batch_size)
            .with_for_update(skip_locked=True, of=WebhookDelivery)  # not rendered on SQLite
        )

    def _job(self, session: Session, delivery: WebhookDelivery, token: str, now: datetime) -> _Job:
        subscription = session.get(WebhookSubscription, delivery.subscription_id)
        event = session.get(OutboxEvent, delivery.outbox_event_id)
        assert subscription is not None and event is not None and delivery.id is not None
        return _Job(delivery.id, token, delivery.attempts, subscription.url, signing_secrets(subscription, now),
                    event.event_id, event.payload)  # fmt: skip

    def _send(self, job: _Job) -> _Outcome:
        body = body_of(job.payload)
        headers = signed_headers(job.secrets, job.webhook_id, self.context.clock.now(), body)
        started = time.perf_counter()  # a duration, not a time of day: the monotonic clock is right here
        try:
            response = self.client.post(job.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as failure:
            latency = round((time.perf_counter() - started) * 1000)
            return _Outcome(None, latency, f"{type(failure).__name__}: {failure}"[:500])
        latency = round((time.perf_counter() - started) * 1000)
        answer = None if 200 <= response.status_code < 300 else response.text[:200] or response.reason_phrase
        return _Outcome(response.status_code, latency, answer)

    def _record(self, job: _Job, outcome: _Outcome) -> None:
        now = self.context.clock.now()
        with self.context.db.write() as session:
            session.add(WebhookAttempt(delivery_id=job.delivery_id, attempted_at=now, status_code=outcome.status_code,
                                       latency_ms=outcome.latency_ms, error=outcome.error))  # fmt: skip
            delivery = session.get(WebhookDelivery, job.delivery_id)
            if delivery is None or delivery.lease_token != job.lease_token:
                return  # our lease ran out and another worker took the row: it records its own result
            attempts = delivery.attempts + 1
            delivery.attempts = attempts
            delivery.last_status_code, delivery.last_latency_ms = outcome.status_code, outcome.latency_ms
            delivery.last_error = outcome.error
            delivery.lease_token, delivery.leased_until = None, None
            if outcome.is_success:
                delivery.status, delivery.delivered_at = "delivered", now
            elif attempts >= self.settings.webhook_max_attempts:
                delivery.status = "dead"
            else:
                delivery.next_attempt_at = now + self._backoff(attempts)
            session.add(delivery)
        log.info("webhook_attempted", delivery_id=job.delivery_id, webhook_id=job.webhook_id,
                 status_code=outcome.status_code, latency_ms=outcome.latency_ms, attempts=attempts)  # fmt: skip

    def _backoff(self, attempts: int) -> timedelta:
        """base · 2^(n-1), capped, times a jitter in [0.5, 1) so failed receivers are not hit in lockstep."""
        ceiling = min(
            self.settings.webhook_backoff_seconds * 2 ** (attempts - 1), self.settings.webhook_backoff_max_seconds
        )
        return timedelta(seconds=ceiling * (0.5 + self._random.random() / 2))
