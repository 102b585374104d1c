"""A workflow's published versions: who published each, how many applications run on it, and the diff between two."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.db.models import Application, WorkflowVersion
from api.services.auth import require_admin
from api.services.context import Context
from engine.errors import UnknownWorkflow, UnknownWorkflowVersion
from engine.runner import Actor

LineKind = Literal["header", "hunk", "added", "removed", "context"]


@dataclass(frozen=True)
class PublishedVersion:
    """One entry of a workflow's version history, newest first."""

    version: int
    title: str
    content_hash: str
    published_at: datetime
    published_by: str | None
    applications: int  # applications started on this version (they keep it to the end)


@dataclass(frozen=True)
class DiffLine:
    kind: LineKind
    text: str


@dataclass(frozen=True)
class VersionDiff:
    """A unified diff of the YAML source of two versions of one workflow."""

    key: str
    from_version: int
    to_version: int
    unified: str
    lines: list[DiffLine]

    @property
    def added(self) -> int:
        return sum(line.kind == "added" for line in self.lines)

    @property
    def removed(self) -> int:
        return sum(line.kind == "removed" for line in self.lines)


def history(context: Context, actor: Actor, key: str) -> list[PublishedVersion]:
    """Every published version of ``key``, newest first; raises PermissionDenied for non-admins, UnknownWorkflow."""
    require_admin(actor, "管理工作流")
    with context.db.read() as session:
        rows = session.exec(
            select(WorkflowVersion).where(WorkflowVersion.key == key).order_by(col(WorkflowVersion.version).desc())
        ).all()
        counts = _applications_per_version(session, key)
    if not rows:
        raise UnknownWorkflow(f"未找到工作流 '{key}'", workflow=key)
    return [
        PublishedVersion(r.version, r.title, r.content_hash, r.published_at, r.published_by, counts.get(r.version, 0))
        for r in rows
    ]


def diff(context: Context, actor: Actor, key: str, from_version: int, to_version: int) -> VersionDiff:
    """The unified diff of the YAML source from one version to another (either order).

    Raises PermissionDenied for non-admins, UnknownWorkflow, and UnknownWorkflowVersion naming the missing version.
    """
    require_admin(actor, "管理工作流")
    with context.db.read() as session:
        sources = dict(
            session.exec(
                select(WorkflowVersion.version, WorkflowVersion.source).where(
                    WorkflowVersion.key == key, col(WorkflowVersion.version).in_([from_version, to_version])
                )
            ).all()
        )
        if not sources and session.exec(select(WorkflowVersion.id).where(WorkflowVersion.key == key)).first() is None:
            raise UnknownWorkflow(f"未找到工作流 '{key}'", workflow=key)
    for version in (from_version, to_version):
        if version not in sources:
            raise UnknownWorkflowVersion(f"工作流 '{key}' 没有第 {version} 版", workflow=key, version=version)
    unified = list(
        difflib.unified_diff(
            sources[from_version].splitlines(),
            sources[to_version].splitlines(),
            fromfile=f"{key} 第 {from_version} 版",
            tofile=f"{key} 第 {to_version} 版",
            lineterm="",
        )
    )
    lines = [DiffLine("header", line) for line in unified[:2]] + [_classify(line) for line in unified[2:]]
    return VersionDiff(key, from_version, to_version, "\n".join(unified), lines)


def _applications_per_version(session: Session, key: str) -> dict[int, int]:
    query = (
        select(Application.workflow_version, func.count())
        .where(Application.workflow_key == key)
        .group_by(col(Application.workflow_version))
    )
    return {version: count for version, count in session.exec(query).all()}


def _classify(line: str) -> DiffLine:
    """One line after the two file headers (which a removed YAML line like ``-- x`` could imitate)."""
    if line.startswith("@@"):
        return DiffLine("hunk", line)
    if line.startswith("+"):
        return DiffLine("added", line)
    if line.startswith("-"):
        return DiffLine("removed", line)
    return DiffLine("context", line)
