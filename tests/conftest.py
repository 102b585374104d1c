"""Shared fixtures: every API test runs on SQLite and on PostgreSQL.

Each backend gets one template database per test run (migrated to head, bundled workflows
published, demo organisation seeded); each test gets its own copy, so tests are isolated and
the migrations run every time. PostgreSQL tests skip when no server answers, and fail instead
when CI=true.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app, prepare_database
from api.db.database import Database
from api.services.context import Context
from api.settings import Settings
from engine.clock import FixedClock
from tests.factories import Api

POSTGRES_ADMIN = os.environ.get("GREENLANE_TEST_POSTGRES", "host=127.0.0.1 port=5432 dbname=test user=postgres")
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
SECRET = "test-secret-key-0123456789abcdef0123456789"
# 2026-03-02 09:00 in Shanghai: a Monday, so tests read like office hours
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def settings_for(url: str) -> Settings:
    # background workers off: tests call their run_once functions with the fixed clock
    return Settings(database_url=url, secret_key=SECRET, demo=True, scheduler_interval_seconds=0, webhook_worker=False)


def _prepare(url: str) -> None:
    context = Context(db=Database(url), clock=FixedClock(START), settings=settings_for(url))
    prepare_database(context)
    context.db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "greenlane.db"
    _prepare(f"sqlite:///{path}")
    return path


def _postgres_admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"greenlane_tmpl_{uuid.uuid4().hex[:10]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _prepare(POSTGRES_URL.format(name=name))
        yield name
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, demo-seeded database for one test."""
    if request.param == "sqlite":
        target = tmp_path / "greenlane.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"greenlane_test_{uuid.uuid4().hex[:10]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield POSTGRES_URL.format(name=name)
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def client(database_url: str, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings_for(database_url), clock=clock, prepare=False)
    with TestClient(app) as test_client:
        yield test_client


_TOKENS: dict[str, str] = {}  # demo users are identical in every copy: log in once per run


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client, _TOKENS)
