"""Applications: create, read, list, and fire transitions (one transaction per call)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlmodel import Session, col, select

from api.db.models import Application, District, Material, User
from api.schemas import (
    MAX_ROW_ID,
    ActionPublic,
    ApplicationCreate,
    ApplicationPage,
    ApplicationPublic,
    AuditEventPublic,
    ClockPublic,
    TransitionRequest,
)
from api.services import drafts, idempotency, outbox, workflows
from api.services.audit_trail import append_event, events_of
from api.services.calendar import work_calendar
from api.services.context import Context
from api.services.stepping import apply_transition, case_of
from engine.deadlines import StepClock, is_due_soon, is_overdue
from engine.errors import (
    InvalidData,
    NotFound,
    PermissionDenied,
    VersionConflict,
)
from engine.forms import MATERIALS_KEY, clean_data
from engine.runner import Actor, StepRunner, check_initiator, joint_opinions
from engine.working_days import WorkCalendar, shanghai_day


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


def create_application(
    context: Context, actor: Actor, body: ApplicationCreate, idempotency_key: str | None = None
) -> ApplicationPublic:
    """Start an application on the workflow version in force; raises UnknownWorkflow,
    InvalidData (naming the field), PermissionDenied, IdempotencyKeyReused or IdempotencyInProgress."""
    canonical = {"create": body.model_dump(mode="json")}
    return _idempotent(
        context, actor, idempotency_key, canonical, lambda: _create(context, actor, body, idempotency_key)
    )


def _create(context: Context, actor: Actor, body: ApplicationCreate, idempotency_key: str | None) -> ApplicationPublic:
    version = workflows.current_version(context, body.workflow)
    runner = workflows.runner_for(context, version.key, version.version)
    spec = runner.spec
    data = clean_data(spec.fields, body.data, materials=spec.materials)
    check_initiator(spec, actor, data)
    now = context.clock.now()
    with context.db.write() as session:
        _check_district(session, data)
        _check_material_references(session, None, data)  # nothing is uploaded before the application exists
        if body.draft_id is not None:  # created from a saved draft: the draft goes in the same transaction
            drafts.discard_submitted(session, actor, body.draft_id, spec.key)
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
        audit = append_event(
            session, at=now, actor=actor, application_id=application.id, action="create",
            from_state=None, to_state=spec.initial,
            data={"workflow": spec.key, "workflow_version": version.version, "data": data},
        )  # fmt: skip
        outbox.record_event(session, "application.created", application, audit)
        view = _view(context, session, application, actor, runner)
        if idempotency_key:  # the reply to replay is stored with the new application, atomically
            idempotency.complete(session, actor.user_id, idempotency_key, view)
        return view


def get_application(context: Context, actor: Actor, application_id: int) -> ApplicationPublic:
    with context.db.read() as session:
        application = visible(session, actor, application_id)
        return _view(context, session, application, actor, _runner(context, application))


def audit_of(context: Context, actor: Actor, application_id: int) -> list[AuditEventPublic]:
    with context.db.read() as session:
        visible(session, actor, application_id)
    return [AuditEventPublic.model_validate(e, from_attributes=True) for e in events_of(context, application_id)]


def list_applications(context: Context, actor: Actor, query: ListFilter) -> ApplicationPage:
    """Cursor-paginated. Newest first; the inbox (``actionable``) puts overdue first, then the
    nearest deadline, and keeps what the caller can act on now."""
    limit = max(1, min(query.limit, 200))
    statement = select(Application)
    if query.workflow:
        statement = statement.where(Application.workflow_key == query.workflow)
    if query.state:
        statement = statement.where(Application.state == query.state)
    if query.mine or not _is_official(actor):
        statement = statement.where(Application.applicant_organisation == actor.organisation)
    if query.overdue:
        statement = statement.where(col(Application.overdue).is_(True))
    kind, position = _decode_cursor(query.cursor) if query.cursor else ("", 0)
    if query.actionable:
        deadline = col(Application.deadline)
        statement = statement.order_by(
            col(Application.overdue).desc(), deadline.is_(None), deadline, col(Application.id)
        )
    else:
        statement = statement.order_by(col(Application.id).desc())
        if kind == "id":
            statement = statement.where(col(Application.id) < position)
    items = _collect(context, actor, statement, query.actionable, skip=position if kind == "pos" else 0, limit=limit)
    more = len(items) > limit
    items = items[:limit]
    if not more:
        return ApplicationPage(items=items, next_cursor=None)
    cursor = _encode_cursor("pos", position + limit) if query.actionable else _encode_cursor("id", items[-1].id)
    return ApplicationPage(items=items, next_cursor=cursor)


def _collect(
    context: Context, actor: Actor, statement: Any, actionable: bool, skip: int, limit: int
) -> list[ApplicationPublic]:
    """Up to ``limit + 1`` views after skipping ``skip`` matches (one extra tells there is more)."""
    items: list[ApplicationPublic] = []
    with context.db.read() as session:
        rows = session.exec(statement.execution_options(yield_per=200))
        try:
            for application in rows:
                view = _view(context, session, application, actor, _runner(context, application))
                if actionable and not any(action.allowed for action in view.available_actions):
                    continue
                if skip:
                    skip -= 1
                    continue
                items.append(view)
                if len(items) == limit + 1:
                    break
        finally:
            rows.close()  # a server-side cursor on PostgreSQL: close it when we stop early
    return items


def fire_transition(context: Context, actor: Actor, command: FireTransition) -> ApplicationPublic:
    """Load, check with the engine, compare-and-set, audit and commit, all in one transaction.

    Raises NotFound, VersionConflict, UnknownTransition, TransitionNotAllowed, PermissionDenied,
    InvalidData, GuardFailed, IdempotencyKeyReused or IdempotencyInProgress; a refused call
    changes nothing.
    """
    canonical = {"application": command.application_id, "transition": command.transition,
                 **command.request.model_dump(mode="json")}  # fmt: skip
    return _idempotent(context, actor, command.idempotency_key, canonical, partial(_fire, context, actor, command))


def _idempotent(
    context: Context, actor: Actor, key: str | None, request: dict[str, Any], run: Callable[[], ApplicationPublic]
) -> ApplicationPublic:
    """``run`` once per Idempotency-Key: a repeat with the same request gets the stored reply."""
    if key is None:
        return run()
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    request_hash = hashlib.sha256(canonical.encode()).hexdigest()
    if (replayed := idempotency.claim(context, actor.user_id, key, request_hash)) is not None:
        return replayed
    try:
        return run()
    except BaseException:
        # nothing was committed (the reply is stored with the change): a retry may run it
        idempotency.release(context, actor.user_id, key)
        raise


def _fire(context: Context, actor: Actor, command: FireTransition) -> ApplicationPublic:
    request = command.request
    with context.db.write() as session:
        application = visible(session, actor, command.application_id)
        _check_material_references(session, application.id, request.data)
        if application.version != request.expected_version:
            raise VersionConflict(
                f"申请已更新到第 {application.version} 版（请求基于第 {request.expected_version} 版），请刷新后重试",
                current=application.version,
                expected=request.expected_version,
            )
        runner = _runner(context, application)
        extra = {"idempotency_key": command.idempotency_key} if command.idempotency_key else None
        apply_transition(
            session, context, runner, application, actor, command.transition, request.comment, request.data, extra
        )
        if command.idempotency_key:  # the reply to replay is stored with the change, atomically
            view = _view(context, session, application, actor, runner)
            idempotency.complete(session, actor.user_id, command.idempotency_key, view)
            return view
    # Otherwise the reply is read after the commit, so the audit chain's head lock (and SQLite's write
    # lock) is held for the change alone; a later writer may already show in it, its `version` current.
    return get_application(context, actor, command.application_id)


def _check_material_references(session: Session, application_id: int | None, data: dict[str, Any]) -> None:
    """A ``material:N`` reference must name a file uploaded to this application; any other text is a
    document number kept as given."""
    references = data.get(MATERIALS_KEY)
    if not isinstance(references, dict):
        return  # the engine says what is wrong with it
    for name, reference in references.items():
        if not (isinstance(reference, str) and reference.startswith("material:")):
            continue
        number = reference.removeprefix("material:")
        # a short digit string first: int() refuses (ValueError) strings of thousands of digits
        readable = number.isascii() and number.isdigit() and len(number) <= 19 and int(number) <= MAX_ROW_ID
        found = session.get(Material, int(number)) if readable else None
        if found is None or found.application_id != application_id:
            message = f"材料「{name}」引用的文件 {reference} 不是本申请上传的文件"
            raise InvalidData(message, field=f"{MATERIALS_KEY}.{name}")


def visible(session: Session, actor: Actor, application_id: int) -> Application:
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


def _check_district(session: Session, data: dict[str, Any]) -> None:
    district = data.get("district")
    if district is not None and session.get(District, district) is None:
        raise InvalidData(f"未知的区县 '{district}'", field="district")


def _view(
    context: Context, session: Session, application: Application, actor: Actor, runner: StepRunner
) -> ApplicationPublic:
    assert application.id is not None
    applicant = session.get(User, application.applicant_id)
    case = case_of(session, application, shanghai_day(context.clock.now()), runner.spec)
    actions = runner.available_actions(case, actor)
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
        deadline=application.deadline,
        overdue=application.overdue,
        clock=clock_view(case.clock, case.today, work_calendar(context, session)) if case.clock else None,
        process=_process_view(context, session, application, case.today),
        joint_opinions=joint_opinions(runner.spec, application.joint) if application.joint else [],
        available_actions=[ActionPublic(**action.__dict__) for action in actions],
    )


def _process_view(
    context: Context, session: Session, application: Application, today: date | None
) -> ClockPublic | None:
    process = StepClock.from_json(application.process_clock)
    return clock_view(process, today, work_calendar(context, session)) if process else None


def clock_view(clock: StepClock, today: date | None, calendar: WorkCalendar) -> ClockPublic:
    today = today or clock.started_on
    return ClockPublic(
        state=clock.state, unit=clock.unit, limit=clock.limit, due=clock.due, used=clock.used(today, calendar),
        remaining=clock.remaining(today, calendar), paused=clock.is_paused, pause_reason=clock.pause_reason,
        provisional=clock.provisional, due_soon=is_due_soon(clock, today, calendar),
        overdue=is_overdue(clock, today), extended=clock.extended,
        provisional_years=_unknown_years(clock, today, calendar) if clock.provisional else [],
    )  # fmt: skip


def _unknown_years(clock: StepClock, today: date, calendar: WorkCalendar) -> list[int]:
    """The years the clock counts in (from its start to its due day, or today while paused) that have
    no State Council holiday notice, neither in chinese-calendar nor entered by an admin."""
    last = max(clock.due or today, clock.started_on)
    years = range(clock.started_on.year, last.year + 1)
    return [year for year in years if not calendar.is_span_known(date(year - 1, 12, 31), date(year, 12, 31))]


def _encode_cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind not in ("id", "pos") or not 0 <= int(value) <= MAX_ROW_ID:
            raise ValueError(cursor)
        return kind, int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidData("无效的分页游标 cursor", field="cursor") from None
