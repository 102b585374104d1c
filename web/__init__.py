"""Jinja2 pages for departments and admins (call api.services, never api.routes)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the vendored static files, the security headers and the page routers."""
    from web import (
        pages,
        routes_admin,
        routes_applications,
        routes_reports,
        routes_session,
        routes_users,
        routes_webhooks,
    )
    from web.security import SecurityHeadersMiddleware

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeadersMiddleware)
    for router in (
        pages.router,
        routes_session.router,
        routes_applications.router,
        routes_admin.router,
        routes_users.router,
        routes_webhooks.router,
        routes_reports.router,
    ):
        app.include_router(router)
