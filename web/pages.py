"""Server-rendered pages. For now only the landing page; the department pages come with the web issue."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.services import workflows

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    context = request.app.state.context
    return templates.TemplateResponse(request, "home.html", {"workflows": workflows.list_workflows(context)})
