"""The public landing page: the workflows in force, and the way in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.services import workflows
from web.rendering import ContextDep, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, context: ContextDep) -> HTMLResponse:
    return render(request, "home.html", {"workflows": workflows.list_workflows(context)})
