from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form

from api.deps import ContextDep
from api.schemas import Token
from api.services import auth

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token")
def issue_token(context: ContextDep, username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Token:
    return Token(access_token=auth.issue_token(context, username, password))
