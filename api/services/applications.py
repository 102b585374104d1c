"""Applications: create, read, list, and fire transitions (one transaction per call)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from api.db.models import Application, District, IdempotencyRecord, User
from api.schemas import (
    ActionPublic,
    ApplicationCreate,
    ApplicationPage,
    ApplicationPublic,
    AuditEventPublic,
    TransitionRequest,
)
from api.services import workflows
from api.services.audit_trail import append_event, events_of
from api.services.context import Context
from engine.errors import (
    IdempotencyKeyReused,
    InvalidData,
    NotFound,
    PermissionDenied,
    VersionConflict,
)
from engine.forms import clean_data
from engine.runner import Actor, Case, Fired, StepRunner, check_initiator

ROUTING_FACTS = ("district", "level", "major", "cross_district", "city_level", "changes_land",
                 "changes_structure", "low_risk", "commitment")  # fmt: skip


@dataclass(frozen=True)
class FireTransition:
    application_id: int
    transition: str
    request: TransitionRequest
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ListFilter:
    workflow: str | None = None
    state: str | None = None
    mine: bool = False
    actionable: bool = False
    overdue: bool = False
    limit: int = 50
    cursor: str | None = None


def create_application(context: Context, actor: Actor, body: ApplicationCreate) -> ApplicationPublic:
    """Start an application on the workflow version in force; raises UnknownWorkflow,
    InvalidData (naming the field) or PermissionDenied."""
    version = workflows.current_version(context, body.workflow)
    runner = workflows.runner_for(context, version.key, version.version)
    spec = runner.spec
    data = clean_data(spec.fields, body.data, materials=spec.materials)
    check_initiator(spec, actor, data)
    now = context.clock.now()
    with context.db.write() as session:
        _check_district(session, data)
        application = Application(
            workflow_key=spec.key,
            workflow_version=version.version,
            title=body.title,
            state=spec.initial,
            data=data,
            applicant_id=actor.user_id,
            applicant_organisation=actor.organisation,
            district=data.get("district"),
            created_at=now,
            updated_at=now,
        )
        session.add(application)
        session.flush()
        assert application.id is not None
        append_event(
            session, at=now, actor=actor, application_id=application.id, action="create",
            from_state=None, to_state=spec.initial,
            data={"workflow": spec.key, "workflow_version": version.version, "data": data},
        )  # fmt: skip
        return _view(session, application, actor, runner)


def get_application(context: Context, actor: Actor, application_id: int) -> ApplicationPublic:
    with context.db.read() as session:
        application = _visible(session, actor, application_id)
        return _view(session, application, actor, _runner(context, application))


def audit_of(context: Context, actor: Actor, application_id: int) -> list[AuditEventPublic]:
    with context.db.read() as session:
        _visible(session, actor, application_id)
    return [AuditEventPublic.model_validate(e, from_attributes=True) for e in events_of(context, application_id)]


def list_applications(context: Context, actor: Actor, query: ListFilter) -> ApplicationPage:
    """Newest first, cursor-paginated; ``actionable`` keeps what the caller can act on now."""
    limit = max(1, min(query.limit, 200))
    statement = select(Application).order_by(col(Application.id).desc())
    if query.workflow:
        statement = statement.where(Application.workflow_key == query.workflow)
    if query.state:
        statement = statement.where(Application.state == query.state)
    if query.mine or not _is_official(actor):
        statement = statement.where(Application.applicant_organisation == actor.organisation)
    if query.cursor:
        statement = statement.where(col(Application.id) < _decode_cursor(query.cursor))
    if query.overdue:
        return ApplicationPage(items=[], next_cursor=None)  # no step deadlines are tracked yet
    items: list[ApplicationPublic] = []
    with context.db.read() as session:
        for application in session.exec(statement.execution_options(yield_per=200)):
            view = _view(session, application, actor, _runner(context, application))
            if query.actionable and not any(action.allowed for action in view.available_actions):
                continue
            items.append(view)
            if len(items) == limit + 1:
                break
    more = len(items) > limit
    items = items[:limit]
    return ApplicationPage(items=items, next_cursor=_encode_cursor(items[-1].id) if more else None)


def fire_transition(context: Context, actor: Actor, command: FireTransition) -> ApplicationPublic:
    """Load, check with the engine, compare-and-set, audit and commit, all in one transaction.

    Raises NotFound, VersionConflict, UnknownTransition, TransitionNotAllowed, PermissionDenied,
    InvalidData, GuardFailed or IdempotencyKeyReused; a refused call changes nothing.
    """
    request_hash = _request_hash(command)
    if (replayed := _replay(context, actor, command, request_hash)) is not None:
        return replayed
    try:
        return _fire(context, actor, command, request_hash)
    except (VersionConflict, IntegrityError):
        # a racing request with the same Idempotency-Key may have won: replay its answer
        if (replayed := _replay(context, actor, command, request_hash)) is not None:
            return replayed
        raise


def _fire(context: Context, actor: Actor, command: FireTransition, request_hash: str) -> ApplicationPublic:
    request = command.request
    with context.db.write() as session:
        application = _visible(session, actor, command.application_id)
        if application.version != request.expected_version:
            raise VersionConflict(
                f"申请已更新到第 {application.version} 版（请求基于第 {request.expected_version} 版），请刷新后重试",
                current=application.version,
                expected=request.expected_version,
            )
        runner = _runner(context, application)
        fired = runner.fire(_case(session, application), actor, command.transition, request.comment, request.data)
        now = context.clock.now()
        written = session.exec(  # the WHERE re-checks version, so a racing writer loses
            update(Application)
            .where(col(Application.id) == application.id, col(Application.version) == request.expected_version)
            .values(
                state=fired.to_state,
                outcome=fired.outcome,
                version=request.expected_version + 1,
                data=fired.data,
                updated_at=now,
            )
        ).rowcount
        if written != 1:
            raise VersionConflict(expected=request.expected_version)
        session.refresh(application)
        append_event(
            session, at=now, actor=actor, application_id=application.id, action=command.transition,
            from_state=fired.from_state, to_state=fired.to_state, comment=request.comment,
            data=_audit_facts(application, fired, command),
        )  # fmt: skip
        view = _view(session, application, actor, runner)
        if command.idempotency_key:
            session.add(IdempotencyRecord(
                actor_id=actor.user_id, key=command.idempotency_key, request_hash=request_hash,
                status_code=200, response=view.model_dump(mode="json"), created_at=now,
            ))  # fmt: skip
        return view


def _audit_facts(application: Application, fired: Fired, command: FireTransition) -> dict[str, Any]:
    condition = fired.transition.condition
    read = set(condition.names if condition else ()) | {"district", "level"}
    routing = {name: fired.facts.get(name) for name in ROUTING_FACTS if name in read or name in fired.facts}
    facts: dict[str, Any] = {
        "transition": fired.transition.id,
        "kind": fired.transition.kind,
        "workflow": application.workflow_key,
        "workflow_version": application.workflow_version,
        "basis": fired.transition.basis,
        "input": fired.input,
        "routing": routing,
        "outcome": fired.outcome,
    }
    if command.idempotency_key:
        facts["idempotency_key"] = command.idempotency_key
    return facts


def _replay(context: Context, actor: Actor, command: FireTransition, request_hash: str) -> ApplicationPublic | None:
    if not command.idempotency_key:
        return None
    with context.db.read() as session:
        record = session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.actor_id == actor.user_id, IdempotencyRecord.key == command.idempotency_key
            )
        ).first()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused("该 Idempotency-Key 已用于另一个不同的请求", key=command.idempotency_key)
    return ApplicationPublic.model_validate(record.response)


def _request_hash(command: FireTransition) -> str:
    body = {"application": command.application_id, "transition": command.transition,
            **command.request.model_dump(mode="json")}  # fmt: skip
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _visible(session: Session, actor: Actor, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"未找到申请 {application_id}", application_id=application_id)
    if not _is_official(actor) and application.applicant_organisation != actor.organisation:
        raise PermissionDenied("只能查看本单位提交的申请", application_id=application_id)
    return application


def _is_official(actor: Actor) -> bool:
    """Department users see every application; applicants see their own organisation's."""
    return bool(actor.roles - {"applicant"})


def _runner(context: Context, application: Application) -> StepRunner:
    return workflows.runner_for(context, application.workflow_key, application.workflow_version)


def _case(session: Session, application: Application) -> Case:
    district = session.get(District, application.district) if application.district else None
    return Case(
        state=application.state,
        data=application.data,
        applicant_id=application.applicant_id,
        applicant_organisation=application.applicant_organisation,
        level=district.level if district else None,
        outcome=application.outcome,
    )


def _check_district(session: Session, data: dict[str, Any]) -> None:
    district = data.get("district")
    if district is not None and session.get(District, district) is None:
        raise InvalidData(f"未知的区县 '{district}'", field="district")


def _view(session: Session, application: Application, actor: Actor, runner: StepRunner) -> ApplicationPublic:
    assert application.id is not None
    applicant = session.get(User, application.applicant_id)
    actions = runner.available_actions(_case(session, application), actor)
    state = runner.spec.states_by_id[application.state]
    return ApplicationPublic(
        id=application.id,
        workflow=application.workflow_key,
        workflow_version=application.workflow_version,
        title=application.title,
        data=application.data,
        state=application.state,
        state_title=state.title,
        outcome=application.outcome,
        version=application.version,
        applicant=applicant.username if applicant else "",
        created_at=application.created_at,
        updated_at=application.updated_at,
        deadline=None,
        available_actions=[ActionPublic(**action.__dict__) for action in actions],
    )


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        prefix, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != "id":
            raise ValueError(cursor)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidData("无效的分页游标 cursor", field="cursor") from None
