"""Admin: user accounts and departments (organisations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ContextDep, CurrentActor
from api.schemas import AuditEventPublic
from api.services import departments, users

UserView = users.UserView  # a dataclass: FastAPI serialises it as it is

router = APIRouter(prefix="/api/v1", tags=["users"])

Username = Annotated[str, Path(max_length=64)]


class UserCreate(BaseModel):
    """The password is checked by the service (length, letters and digits), so the message is in Chinese."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=128)
    organisation: str = Field(max_length=64)
    roles: list[str] = Field(max_length=32)
    password: str = Field(max_length=1024)


class RolesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] = Field(max_length=32)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1024)


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64)
    name: str = Field(max_length=128)
    district: str | None = Field(default=None, max_length=32)  # null: a city-level department


class OrganisationPublic(BaseModel):
    code: str
    name: str
    district: str | None
    district_name: str | None
    users: int


@router.get("/users")
def list_users(context: ContextDep, actor: CurrentActor) -> list[UserView]:
    return users.list_users(context, actor)


@router.post("/users", status_code=201)
def create_user(body: UserCreate, context: ContextDep, actor: CurrentActor) -> UserView:
    new = users.NewUser(body.username, body.display_name, body.organisation, body.roles, body.password)
    return users.create_user(context, actor, new)


@router.get("/users/{username}")
def get_user(username: Username, context: ContextDep, actor: CurrentActor) -> UserView:
    return users.get_user(context, actor, username)


@router.post("/users/{username}/disable")
def disable_user(username: Username, context: ContextDep, actor: CurrentActor) -> UserView:
    return users.set_active(context, actor, username, is_active=False)


@router.post("/users/{username}/enable")
def enable_user(username: Username, context: ContextDep, actor: CurrentActor) -> UserView:
    return users.set_active(context, actor, username, is_active=True)


@router.post("/users/{username}/password")
def reset_password(username: Username, body: PasswordReset, context: ContextDep, actor: CurrentActor) -> UserView:
    return users.reset_password(context, actor, username, body.password)


@router.put("/users/{username}/roles")
def change_roles(username: Username, body: RolesUpdate, context: ContextDep, actor: CurrentActor) -> UserView:
    return users.change_roles(context, actor, username, body.roles)


@router.get("/users/{username}/audit")
def account_events(username: Username, context: ContextDep, actor: CurrentActor) -> list[AuditEventPublic]:
    """The audit events of changes to this account, newest first."""
    events = users.account_events(context, actor, username)
    return [AuditEventPublic.model_validate(event, from_attributes=True) for event in events]


@router.get("/organisations")
def list_organisations(context: ContextDep, actor: CurrentActor) -> list[OrganisationPublic]:
    found = departments.list_organisations(context, actor)
    return [OrganisationPublic.model_validate(organisation, from_attributes=True) for organisation in found]


@router.post("/organisations", status_code=201)
def create_organisation(body: OrganisationCreate, context: ContextDep, actor: CurrentActor) -> OrganisationPublic:
    created = departments.create_organisation(context, actor, body.code, body.name, body.district)
    return OrganisationPublic.model_validate(created, from_attributes=True)


@router.get("/roles")
def list_roles(actor: CurrentActor) -> dict[str, str]:
    """The roles an account may hold, with their Chinese titles."""
    return users.ASSIGNABLE_ROLES
