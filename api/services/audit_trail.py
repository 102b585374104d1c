"""The append-only, hash-chained audit trail: one global chain over every event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from api.db.models import AuditEvent, AuditHead
from api.schemas import AuditVerification
from api.services.context import Context
from engine.runner import Actor


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    application_id: int | None,
    action: str,
    from_state: str | None,
    to_state: str | None,
    comment: str,
    data: dict[str, Any],
) -> str:
    body = {
        "prev_hash": prev_hash,
        "seq": seq,
        "time": at.astimezone(UTC).isoformat(),
        "actor": actor,
        "application": application_id,
        "action": action,
        "from": from_state,
        "to": to_state,
        "comment": comment,
        "data": data,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append_event(
    session: Session,
    *,
    at: datetime,
    actor: Actor | None,
    application_id: int | None,
    action: str,
    from_state: str | None,
    to_state: str | None,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction.

    The head row is locked FOR UPDATE, so concurrent appenders on PostgreSQL queue here and
    the chain stays linear; on SQLite the in-process write lock already serializes them.
    """
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": at,
        "actor": actor.username if actor else "system",
        "application_id": application_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment,
        "data": data or {},
    }
    digest = event_hash(prev_hash=head.hash, **fields)
    actor_id = actor.user_id if actor and actor.user_id else None  # the system has no user row
    event = AuditEvent(**fields, actor_id=actor_id, prev_hash=head.hash, hash=digest)
    session.add(event)
    head.seq, head.hash = event.seq, digest
    session.add(head)
    return event


def verify_chain(context: Context) -> AuditVerification:
    """Recompute every hash and link; the first event that does not match is named."""
    with context.db.read() as session:
        # the head first: events appended while we read are beyond it and not ours to judge
        head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
        query = select(AuditEvent).where(col(AuditEvent.seq) <= head.seq).order_by(col(AuditEvent.seq))
        events = session.exec(query.execution_options(yield_per=500))
        try:
            count, last_hash, first_bad = _walk_chain(events)
        finally:
            events.close()  # a server-side cursor on PostgreSQL: close it even when we stop early
        if first_bad is not None:
            return AuditVerification(ok=False, events=count, first_bad_seq=first_bad)
        if head.seq != count or head.hash != last_hash:  # trailing events deleted
            return AuditVerification(ok=False, events=count, first_bad_seq=count + 1)
    return AuditVerification(ok=True, events=count, first_bad_seq=None)


def _walk_chain(events: Iterable[AuditEvent]) -> tuple[int, str, int | None]:
    """(events read, hash of the last good one, seq of the first bad one or None)."""
    expected_prev, count = "0" * 64, 0
    for event in events:
        count += 1
        recomputed = event_hash(
            prev_hash=event.prev_hash,
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            application_id=event.application_id,
            action=event.action,
            from_state=event.from_state,
            to_state=event.to_state,
            comment=event.comment,
            data=event.data,
        )
        if event.seq != count or event.prev_hash != expected_prev or recomputed != event.hash:
            return count, expected_prev, event.seq
        expected_prev = event.hash
    return count, expected_prev, None


def events_of(context: Context, application_id: int) -> list[AuditEvent]:
    with context.db.read() as session:
        query = select(AuditEvent).where(AuditEvent.application_id == application_id)
        return list(session.exec(query.order_by(col(AuditEvent.seq))))
