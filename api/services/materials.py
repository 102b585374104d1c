"""An application's materials (申请材料): upload, list and download files (one transaction per call).

A file uploaded under a material name the workflow declares becomes the application's reference
for that material (``data["materials"]``), so a transition that ``requires`` it can then be fired;
uploading the same name again makes a new version. Who may see an application may list and
download its files; only the applicant's organisation may upload, and only until the application
reaches a final state. A file is accepted when its
extension is one of ``ALLOWED_TYPES`` and its first bytes agree with it (PDF, PNG and JPEG have
their own signatures; OFD, DOCX and XLSX are ZIP containers). The type stored and served is the
one that belongs to the checked extension: the client's declared type is not trusted (browsers
send ``application/octet-stream`` for ``.ofd``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PureWindowsPath
from urllib.parse import quote

from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select, update

from api.db.models import Application, Material
from api.schemas import MaterialPublic
from api.services import outbox, workflows
from api.services.applications import visible
from api.services.audit_trail import append_event
from api.services.context import Context
from engine.errors import (
    InvalidData,
    MaterialTypeRefused,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    TransitionNotAllowed,
    VersionConflict,
)
from engine.forms import MATERIALS_KEY
from engine.runner import Actor

_ZIP = b"PK\x03\x04"
# extension → (the type we store and serve, the signatures its content may start with)
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".ofd": ("application/ofd", (_ZIP,)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
}
ALLOWED_TITLE = "PDF、JPG/JPEG、PNG、OFD、DOCX、XLSX"


@dataclass(frozen=True)
class MaterialFile:
    material: MaterialPublic
    content: bytes

    @property
    def content_disposition(self) -> str:
        """RFC 6266 ``attachment``: an ASCII fallback plus the UTF-8 name (RFC 5987), so 方案.pdf keeps its name."""
        filename = self.material.filename
        fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in filename)
        return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def upload(
    context: Context,
    actor: Actor,
    application_id: int,
    name: str,
    filename: str,
    content_type: str,
    data: bytes,
) -> MaterialPublic:
    """Store one file with an audit event (``material_uploaded``: name, filename, size, sha256) and the
    outbox event ``application.material_uploaded``, in one transaction.

    Raises NotFound, PermissionDenied (another organisation), TransitionNotAllowed (final state),
    InvalidData (name, filename, empty file), PayloadTooLarge or MaterialTypeRefused; a refused upload
    stores nothing. ``content_type`` is the client's claim, not trusted (see the module docstring).
    """
    name, filename = _clean_name(name), _clean_filename(filename)
    limit = context.settings.max_upload_bytes
    if len(data) > limit:
        detail = f"文件超过 {limit / 1_048_576:g} MB 的上限（本文件 {len(data):,} 字节），未保存"
        raise PayloadTooLarge(detail, size=len(data), limit=limit)
    stored_type = _checked_type(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    now = context.clock.now()
    with context.db.write() as session:
        application = _uploadable(context, session, actor, application_id)
        session.refresh(application, with_for_update=True)  # uploads to one application queue: versions stay 1, 2, ...
        version = _next_version(session, application_id, name)
        material = Material(
            application_id=application_id, name=name, version=version, filename=filename, content_type=stored_type,
            size=len(data), sha256=digest, uploaded_by=actor.username, uploaded_at=now, content=data,
        )  # fmt: skip
        session.add(material)
        session.flush()
        assert material.id is not None
        if name in _declared(context, application):
            _record_reference(session, application, name, material.id, now)
        audit = append_event(
            session, at=now, actor=actor, application_id=application_id, action="material_uploaded",
            from_state=application.state, to_state=application.state,
            data={"material_id": material.id, "name": name, "version": version, "filename": filename,
                  "size": len(data), "sha256": digest},
        )  # fmt: skip
        outbox.record_event(session, "application.material_uploaded", application, audit)
        return _public(material)


def list_materials(context: Context, actor: Actor, application_id: int) -> list[MaterialPublic]:
    """The application's files, oldest first (without their bytes); raises NotFound or PermissionDenied."""
    with context.db.read() as session:
        visible(session, actor, application_id)
        query = (
            select(Material)
            .where(Material.application_id == application_id)
            .options(defer(Material.content))  # type: ignore[arg-type]  # an attribute at run time
            .order_by(col(Material.id))
        )
        return [_public(material) for material in session.exec(query)]


def download(context: Context, actor: Actor, application_id: int, material_id: int) -> MaterialFile:
    """One file with its bytes; raises NotFound (also for a file of another application) or PermissionDenied."""
    with context.db.read() as session:
        visible(session, actor, application_id)
        material = session.get(Material, material_id)
        if material is None or material.application_id != application_id:
            raise NotFound(f"申请 {application_id} 没有编号为 {material_id} 的材料", material_id=material_id)
        return MaterialFile(_public(material), material.content)


def may_upload(context: Context, actor: Actor, application_id: int) -> bool:
    """Whether ``upload`` would accept a valid file from this actor now (the page shows the form)."""
    with context.db.read() as session:
        try:
            _uploadable(context, session, actor, application_id)
        except (PermissionDenied, TransitionNotAllowed):
            return False
    return True


def _uploadable(context: Context, session: Session, actor: Actor, application_id: int) -> Application:
    """The application, if ``actor`` may add files now: its applicant organisation, while the file is
    in the applicant's hands (编制、公示、补正、整改 — a step the applicant moves on, withdrawing aside),
    so a reviewer never decides on a file that changed under them."""
    application = visible(session, actor, application_id)
    if application.applicant_organisation != actor.organisation:  # officials see it, but do not supply it
        raise PermissionDenied("只有申请单位可以上传申请材料", application_id=application_id)
    spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
    state = spec.states_by_id[application.state]
    applicants_turn = [
        t for t in spec.transitions_from(state.id) if t.kind != "withdraw" and any(r.applicant for r in t.by)
    ]
    if not applicants_turn:
        why = "申请已办结" if state.final else "申请正在审查中"
        raise TransitionNotAllowed(
            f"{why}（{state.title}），不能上传材料；需补正时，待审查机关告知补正后再上传",
            application_id=application_id, state=application.state,
        )  # fmt: skip
    return application


def _declared(context: Context, application: Application) -> set[str]:
    spec = workflows.runner_for(context, application.workflow_key, application.workflow_version).spec
    return {material.name for material in spec.materials}


def _next_version(session: Session, application_id: int, name: str) -> int:
    """Uploading the same material again makes a new version; earlier versions stay listed."""
    query = select(func.count()).where(col(Material.application_id) == application_id, col(Material.name) == name)
    return int(session.exec(query).one()) + 1


def _record_reference(session: Session, application: Application, name: str, material_id: int, now: datetime) -> None:
    """A declared material's newest file becomes the application's document reference for it
    (``data["materials"][name]``), which is what a transition's ``requires.materials`` checks.
    The data changed, so the version moves on: a page showing the old version must reload."""
    references = {**(application.data.get(MATERIALS_KEY) or {}), name: f"material:{material_id}"}
    written = session.exec(
        update(Application)
        .where(col(Application.id) == application.id, col(Application.version) == application.version)
        .values(data={**application.data, MATERIALS_KEY: references}, version=application.version + 1, updated_at=now)
    ).rowcount
    if written != 1:
        raise VersionConflict(expected=application.version)
    session.refresh(application)


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidData("请填写材料名称", field="name")
    if len(name) > 64:
        raise InvalidData("材料名称不能超过 64 个字符", field="name")
    return name


def _clean_filename(filename: str) -> str:
    filename = PureWindowsPath(filename.strip()).name  # drops C:\fakepath\ and any folder (/ or \)
    if not filename:
        raise InvalidData("请选择要上传的文件", field="file")
    if len(filename) > 255:
        raise InvalidData("文件名不能超过 255 个字符", field="file")
    return filename


def _checked_type(filename: str, data: bytes) -> str:
    if not data:
        raise InvalidData("文件是空的（0 字节），未保存", field="file")
    extension = PureWindowsPath(filename).suffix.lower()
    if extension not in ALLOWED_TYPES:
        raise MaterialTypeRefused(
            f"不接受 {extension or '无扩展名'} 文件，只接受 {ALLOWED_TITLE} 文件", field="file", extension=extension
        )
    stored_type, signatures = ALLOWED_TYPES[extension]
    if not data.startswith(signatures):
        raise MaterialTypeRefused(
            f"文件内容与扩展名 {extension} 不符（文件可能已损坏或被改名），未保存", field="file", extension=extension
        )
    return stored_type


def _public(material: Material) -> MaterialPublic:
    return MaterialPublic.model_validate(material, from_attributes=True)
