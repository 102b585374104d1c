"""Departments (the organisation table) and the districts they belong to (admin)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import structlog
from sqlalchemy import func
from sqlmodel import col, select

from api.db.models import District, Organisation, User
from api.services.audit_trail import append_event
from api.services.auth import require_admin
from api.services.context import Context
from engine.errors import AlreadyExists, InvalidData
from engine.roles import LEVELS
from engine.runner import Actor

log = structlog.get_logger(__name__)

CODE = re.compile(r"^[a-z0-9][a-z0-9_]{1,63}$")


@dataclass(frozen=True)
class OrganisationView:
    code: str
    name: str
    district: str | None  # None: a city-level department
    district_name: str | None
    users: int


@dataclass(frozen=True)
class DistrictView:
    code: str
    name: str
    level_title: str


def list_organisations(context: Context, actor: Actor) -> list[OrganisationView]:
    """Every department with its district and number of accounts, city level first."""
    require_admin(actor, "管理用户和部门")
    with context.db.read() as session:
        per_organisation = select(User.organisation_id, func.count()).group_by(col(User.organisation_id))
        counts: dict[int | None, int] = dict(session.exec(per_organisation).all())
        districts = {d.code: d.name for d in session.exec(select(District)).all()}
        rows = session.exec(select(Organisation).order_by(col(Organisation.district), col(Organisation.code))).all()
        return [
            OrganisationView(o.code, o.name, o.district, districts.get(o.district or ""), counts.get(o.id, 0))
            for o in rows
        ]


def list_districts(context: Context, actor: Actor) -> list[DistrictView]:
    require_admin(actor, "管理用户和部门")
    with context.db.read() as session:
        rows = session.exec(select(District).order_by(col(District.code))).all()
    return [DistrictView(d.code, d.name, LEVELS.get(d.level, d.level)) for d in rows]


def create_organisation(context: Context, actor: Actor, code: str, name: str, district: str | None) -> OrganisationView:
    """A new department, city level when ``district`` is empty.

    Raises InvalidData naming the field (code, name, district), AlreadyExists for a taken code.
    """
    require_admin(actor, "管理用户和部门")
    code, name, district = code.strip(), name.strip(), (district or "").strip() or None
    if not CODE.match(code):
        raise InvalidData("单位代码须为 2–64 位小写字母、数字或下划线，并以字母或数字开头", field="code")
    if not name or len(name) > 128:
        raise InvalidData("请填写单位名称（不超过 128 字）", field="name")
    with context.db.write() as session:
        known = session.get(District, district) if district else None
        if district and known is None:
            raise InvalidData(f"未知区县 '{district}'", field="district", district=district)
        if session.exec(select(Organisation.id).where(Organisation.code == code)).first() is not None:
            raise AlreadyExists(f"单位代码 '{code}' 已被使用，请换一个", field="code", code=code)
        session.add(Organisation(code=code, name=name, district=district))
        facts = {"organisation": code, "name": name, "district": district}
        append_event(
            session, at=context.clock.now(), actor=actor, application_id=None, action="organisation_created",
            from_state=None, to_state=None, data=facts,
        )  # fmt: skip
        log.info("organisation_created", admin=actor.username, **facts)
        return OrganisationView(code, name, district, known.name if known else None, 0)
