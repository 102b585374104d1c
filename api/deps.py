"""FastAPI dependencies: the service context and the acting user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer

from api.schemas import MAX_ROW_ID
from api.services.auth import actor_from_token
from api.services.context import Context
from engine.runner import Actor

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


def current_actor(context: ContextDep, token: Annotated[str | None, Depends(_bearer)]) -> Actor:
    return actor_from_token(context, token)


CurrentActor = Annotated[Actor, Depends(current_actor)]

# A row id in a path: bounded like the database's BIGINT, so a huge number is a 422, not a 500.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
