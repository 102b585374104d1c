"""create_app(): settings, logging, database, routers, exception handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

import web
from api import problems
from api.body_limit import BodyLimitMiddleware
from api.db.database import Database
from api.db.migrate import upgrade_to_head
from api.routes import (
    applications,
    auth,
    calendar,
    credit,
    drafts,
    materials,
    reports,
    system,
    users,
    webhooks,
    workflows,
)
from api.services import demo, outbox, scheduler
from api.services import workflows as workflow_service
from api.services.context import Context
from api.settings import Settings, get_settings
from api.workers import PeriodicWorker
from engine.clock import Clock, DemoClock, SystemClock

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, clock: Clock | None = None, prepare: bool = True) -> FastAPI:
    """Build the ASGI app; with ``prepare`` also migrate, publish bundled workflows and seed the demo."""
    settings = settings or get_settings()
    _configure_logging(settings)
    clock = clock or (DemoClock() if settings.demo else SystemClock())
    context = Context(db=Database(settings.database_url), clock=clock, settings=settings)
    if prepare:
        prepare_database(context)
    workers = _workers(context)
    if prepare and settings.webhook_worker:  # tests build with prepare=False and call run_once themselves
        delivery = outbox.DeliveryWorker(context, outbox.http_client(settings))
        workers.append(PeriodicWorker("webhooks", settings.webhook_poll_seconds, delivery.drain))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for worker in workers:
            worker.start()
        yield
        for worker in workers:
            worker.stop()
        context.db.dispose()

    app = FastAPI(
        title="Greenlane 城市更新绿色通道审批",
        version="0.1.0",
        description="城市更新项目审批工作流：单元规划 → 项目实施方案 → 备案，绿色通道与告知承诺制。",
        lifespan=lifespan,
    )
    app.state.context = context
    problems.install(app)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, upload_max_bytes=settings.max_upload_bytes
    )
    for router in (
        auth.router,
        workflows.router,
        applications.router,
        materials.router,
        calendar.router,
        credit.router,
        system.router,
        webhooks.router,
        users.router,
        drafts.router,
        reports.router,
    ):
        app.include_router(router)
    web.install(app)
    return app


def _workers(context: Context) -> list[PeriodicWorker]:
    """Durable timers (deadlines, overdue, timeouts); off when the interval is 0 (tests call run_once)."""
    workers = []
    if context.settings.scheduler_interval_seconds > 0:
        interval = context.settings.scheduler_interval_seconds
        workers.append(PeriodicWorker("scheduler", interval, lambda: scheduler.run_due_timers(context)))
    return workers


def prepare_database(context: Context) -> None:
    upgrade_to_head(context.settings.database_url)
    workflow_service.publish_bundled(context)
    if context.settings.demo:
        demo.seed_demo(context)
    elif retired := demo.retire_demo_accounts(context):
        log.warning("demo_accounts_disabled", count=retired, reason="started without --demo")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # transitions warns of every skipped binding (model_override) on every fire: one line per trigger
    for noisy in ("transitions", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
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
