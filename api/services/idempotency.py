"""Idempotency-Key (IETF draft): one record per (actor, key), claimed before the request runs.

A claimed key is *pending* until the request's own transaction stores its response; a second
request with the key meanwhile gets 409, afterwards the stored response. A failed request
releases its claim, so the client may retry with the same key; inbound webhooks instead record
their refusal (``record_refusal``), since the contract says a replayed ``webhook-id`` gets the
first result whatever it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select, update

from api.db.models import IdempotencyRecord
from api.schemas import ApplicationPublic
from api.services.context import Context
from engine.errors import GreenlaneError, IdempotencyInProgress, IdempotencyKeyReused

PENDING = 0  # status_code of a claim whose request is still running
REFUSED = 1  # status_code of a request answered with an error, replayed as that error
ABANDONED_AFTER = timedelta(minutes=5)  # a claim left by a crashed process may be taken over


def claim(context: Context, actor_id: int, key: str, request_hash: str) -> ApplicationPublic | None:
    """Claim ``key``; returns the stored response when the same request already completed.

    Raises IdempotencyKeyReused for another request under the key, IdempotencyInProgress while
    the first is still running.
    """
    now = context.clock.now()
    for _ in range(2):  # the second round follows a racing claim or a removed abandoned one
        existing = _find(context, actor_id, key)
        if existing is not None:
            replay = _answer(existing, request_hash, now)
            if replay is not None:
                return replay
            _take_over(context, existing)  # an abandoned claim; whoever re-claims first runs it
            continue
        try:
            with context.db.write() as session:
                session.add(IdempotencyRecord(actor_id=actor_id, key=key, request_hash=request_hash,
                                              status_code=PENDING, response={}, created_at=now))  # fmt: skip
            return None
        except IntegrityError:
            continue
    raise IdempotencyInProgress(key=key)


def complete(session: Session, actor_id: int, key: str, response: ApplicationPublic) -> None:
    """Store the response, inside the transaction that made it. Raises IdempotencyInProgress when
    the claim is gone (this request ran past ABANDONED_AFTER and another took the key over): the
    change rolls back rather than happen twice."""
    stored = session.exec(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.actor_id) == actor_id,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.status_code) == PENDING,
        )
        .values(status_code=200, response=response.model_dump(mode="json"))
    ).rowcount
    if stored != 1:
        raise IdempotencyInProgress(key=key)


def record_refusal(context: Context, actor_id: int, key: str, request_hash: str, error: GreenlaneError) -> None:
    """Store ``error`` as the answer under ``key`` (after its claim was released); a racing
    request that stored an answer first keeps it."""
    refusal = {"code": error.code, "detail": error.detail, "context": error.context}
    try:
        with context.db.write() as session:
            session.add(IdempotencyRecord(actor_id=actor_id, key=key, request_hash=request_hash, status_code=REFUSED,
                                          response=refusal, created_at=context.clock.now()))  # fmt: skip
    except IntegrityError:
        pass


def release(context: Context, actor_id: int, key: str) -> None:
    with context.db.write() as session:
        session.exec(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.actor_id) == actor_id,
                col(IdempotencyRecord.key) == key,
                col(IdempotencyRecord.status_code) == PENDING,
            )
        )


def _find(context: Context, actor_id: int, key: str) -> IdempotencyRecord | None:
    with context.db.read() as session:
        query = select(IdempotencyRecord).where(IdempotencyRecord.actor_id == actor_id, IdempotencyRecord.key == key)
        return session.exec(query).first()


def _answer(record: IdempotencyRecord, request_hash: str, now: datetime) -> ApplicationPublic | None:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused("该 Idempotency-Key 已用于另一个不同的请求", key=record.key)
    if record.status_code == REFUSED:
        raise refusal_of(record)
    if record.status_code != PENDING:
        return ApplicationPublic.model_validate(record.response)
    if now - record.created_at < ABANDONED_AFTER:
        raise IdempotencyInProgress(key=record.key)
    return None


def _take_over(context: Context, record: IdempotencyRecord) -> bool:
    with context.db.write() as session:
        return bool(session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == record.id)).rowcount)


def refusal_of(record: IdempotencyRecord) -> GreenlaneError:
    """The stored refusal as the error it was, so it maps to the same status, code and detail."""
    code = record.response["code"]
    kind = next((k for k in _error_classes() if k.code == code), GreenlaneError)
    return kind(record.response["detail"], **record.response.get("context", {}))


def _error_classes() -> list[type[GreenlaneError]]:
    found, pending = [], [GreenlaneError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found
