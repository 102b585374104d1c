"""create_app(): settings, logging, database, routers, exception handlers."""

from __future__ import annotations

import logging

import structlog
from fastapi import FastAPI

from api import problems
from api.body_limit import BodyLimitMiddleware
from api.db.database import Database
from api.db.migrate import upgrade_to_head
from api.routes import applications, auth, system, workflows
from api.services import demo
from api.services import workflows as workflow_service
from api.services.context import Context
from api.settings import Settings, get_settings
from engine.clock import Clock, DemoClock, SystemClock
from web import pages


def create_app(settings: Settings | None = None, clock: Clock | None = None, prepare: bool = True) -> FastAPI:
    """Build the ASGI app; with ``prepare`` also migrate, publish bundled workflows and seed the demo."""
    settings = settings or get_settings()
    _configure_logging(settings)
    clock = clock or (DemoClock() if settings.demo else SystemClock())
    context = Context(db=Database(settings.database_url), clock=clock, settings=settings)
    if prepare:
        prepare_database(context)
    app = FastAPI(
        title="Greenlane 城市更新绿色通道审批",
        version="0.1.0",
        description="城市更新项目审批工作流：单元规划 → 项目实施方案 → 备案，绿色通道与告知承诺制。",
    )
    app.state.context = context
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for router in (auth.router, workflows.router, applications.router, system.router, pages.router):
        app.include_router(router)
    app.router.add_event_handler("shutdown", context.db.dispose)
    return app


def prepare_database(context: Context) -> None:
    upgrade_to_head(context.settings.database_url)
    workflow_service.publish_bundled(context)
    if context.settings.demo:
        demo.seed_demo(context)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # transitions logs every model binding and callback at INFO: one line per trigger per request
    for noisy in ("transitions", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if settings.log_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks if settings.log_json else structlog.processors.format_exc_info,
            renderer,
        ],
        cache_logger_on_first_use=True,
    )
