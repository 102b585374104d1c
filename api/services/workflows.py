"""Workflow definitions: bundled YAML, publishing new versions, and the compiled runners."""

from __future__ import annotations

import re
from importlib.resources import files

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.db.models import WorkflowVersion
from api.schemas import ValidationErrorItem, ValidationResult, WorkflowSummary
from api.services.auth import require_admin
from api.services.context import Context
from engine.diagram import mermaid_diagram
from engine.errors import InvalidData, SpecInvalid, SpecProblem, UnknownWorkflow
from engine.loading import content_hash, load_spec
from engine.runner import Actor, StepRunner
from engine.spec import WorkflowSpec


def bundled_sources() -> list[tuple[str, str]]:
    """(file name, YAML text) of every workflow shipped in the package."""
    folder = files("workflows")
    return sorted((p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir() if p.name.endswith(".yaml"))


def publish_bundled(context: Context) -> list[WorkflowVersion]:
    """Publish each bundled workflow whose content was never published (idempotent on restart).

    An admin's later edit is kept across restarts: only a bundled file whose content differs
    from every stored version of its key becomes a new version.
    """
    published = []
    for name, text in bundled_sources():
        spec = load_spec(text, f"workflows/{name}")
        with context.db.write() as session:
            known = session.exec(select(WorkflowVersion.content_hash).where(WorkflowVersion.key == spec.key)).all()
            if content_hash(spec) not in known:
                published.append(_insert_version(session, context, spec, text, publisher=None))
    return published


def publish(context: Context, actor: Actor, key: str, text: str) -> tuple[WorkflowVersion, bool]:
    """Publish ``text`` as the next version of ``key``; returns (version, created).

    Raises PermissionDenied for non-admins and SpecInvalid (every problem, with lines) for bad YAML.
    Applications in flight keep the version they started on.
    """
    require_admin(actor, "发布工作流")
    spec = _load_for_key(text, key)
    with context.db.write() as session:
        current = _latest(session, key)
        if current is not None and current.content_hash == content_hash(spec):
            return current, False  # identical content is not a new version
        return _insert_version(session, context, spec, text, publisher=actor.username), True


def validate(key: str, text: str) -> ValidationResult:
    """``{"valid": true}``, or raises SpecInvalid locating each problem (line, key path, message)."""
    _load_for_key(text, key)
    return ValidationResult(valid=True)


def _load_for_key(text: str, key: str) -> WorkflowSpec:
    spec = load_spec(text, f"{key}.yaml")
    if spec.key != key:
        line = next((n for n, row in enumerate(text.splitlines(), 1) if re.match(r"key\s*:", row)), 1)
        message = f"YAML 中的 key '{spec.key}' 与地址中的 '{key}' 不一致"
        raise SpecInvalid([SpecProblem(line, "key", message)], f"{key}.yaml")
    return spec


def _insert_version(
    session: Session, context: Context, spec: WorkflowSpec, text: str, publisher: str | None
) -> WorkflowVersion:
    latest = session.exec(select(func.max(WorkflowVersion.version)).where(WorkflowVersion.key == spec.key)).one()
    row = WorkflowVersion(
        key=spec.key,
        version=(latest or 0) + 1,
        title=spec.title,
        source=text,
        definition=spec.public_dict(),
        content_hash=content_hash(spec),
        published_at=context.clock.now(),
        published_by=publisher,
    )
    session.add(row)
    session.flush()
    return row


def _latest(session: Session, key: str) -> WorkflowVersion | None:
    query = select(WorkflowVersion).where(WorkflowVersion.key == key)
    return session.exec(query.order_by(col(WorkflowVersion.version).desc())).first()


def current_version(context: Context, key: str) -> WorkflowVersion:
    with context.db.read() as session:
        row = _latest(session, key)
    if row is None:
        raise UnknownWorkflow(f"未找到工作流 '{key}'", workflow=key)
    return row


def list_workflows(context: Context) -> list[WorkflowSummary]:
    with context.db.read() as session:
        newest = (
            select(WorkflowVersion.key, func.max(WorkflowVersion.version).label("version"))
            .group_by(col(WorkflowVersion.key))
            .subquery()
        )
        rows = session.exec(
            select(WorkflowVersion)
            .join(
                newest, (col(WorkflowVersion.key) == newest.c.key) & (col(WorkflowVersion.version) == newest.c.version)
            )
            .order_by(col(WorkflowVersion.key))
        ).all()
    return [
        WorkflowSummary(
            key=r.key,
            version=r.version,
            title=r.title,
            description=str(r.definition.get("description", "")),
            content_hash=r.content_hash,
            published_at=r.published_at,
        )
        for r in rows
    ]


def runner_for(context: Context, key: str, version: int) -> StepRunner:
    """The compiled runner of one version, built once and cached."""
    if (runner := context.runners.get(key, version)) is not None:
        return runner
    with context.db.read() as session:
        row = session.exec(
            select(WorkflowVersion).where(WorkflowVersion.key == key, WorkflowVersion.version == version)
        ).first()
    if row is None:
        raise UnknownWorkflow(f"未找到工作流 '{key}' 第 {version} 版", workflow=key, version=version)
    return context.runners.put(key, version, WorkflowSpec.model_validate(row.definition))


def definition(context: Context, key: str) -> dict[str, object]:
    row = current_version(context, key)
    return {**row.definition, "version": row.version, "content_hash": row.content_hash}


def diagram(context: Context, key: str) -> str:
    row = current_version(context, key)
    return mermaid_diagram(runner_for(context, key, row.version).spec)


def current_spec(context: Context, key: str) -> WorkflowSpec:
    """The definition in force for new applications of ``key``; raises UnknownWorkflow."""
    row = current_version(context, key)
    return runner_for(context, key, row.version).spec


def preview(key: str, text: str) -> tuple[ValidationResult, str | None]:
    """Validate unsaved YAML and, when valid, draw its Mermaid diagram; changes nothing."""
    try:
        spec = _load_for_key(text, key)
    except SpecInvalid as error:
        items = [ValidationErrorItem(line=p.line, path=p.path, message=p.message) for p in error.problems]
        return ValidationResult(valid=False, errors=items), None
    except InvalidData as error:
        return ValidationResult(
            valid=False, errors=[ValidationErrorItem(line=1, path="key", message=error.detail)]
        ), None
    return ValidationResult(valid=True), mermaid_diagram(spec)


def diagram_at(context: Context, key: str, version: int, current: str | None = None) -> str:
    """Mermaid diagram of one published version, with ``current`` highlighted."""
    return mermaid_diagram(runner_for(context, key, version).spec, current)
