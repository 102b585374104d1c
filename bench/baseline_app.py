"""The same-run baseline for bench_transitions.py: one endpoint, one SQLModel insert + commit.

Served exactly like Greenlane (uvicorn --factory, sync endpoint in the worker pool), on its own
database: BENCH_BASELINE_DATABASE_URL, a SQLite file in WAL mode unless told otherwise.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine


class BenchRow(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    counter: int
    written_at: datetime


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):  # the same pool and pragmas as Greenlane's SQLite engine
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=20
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def create_app() -> FastAPI:
    engine = _engine(os.environ["BENCH_BASELINE_DATABASE_URL"])
    SQLModel.metadata.create_all(engine)
    app = FastAPI(title="bench baseline")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/rows/{counter}")
    def insert_row(counter: int) -> dict[str, int]:
        with Session(engine) as session:
            row = BenchRow(counter=counter, written_at=datetime.now(UTC))
            session.add(row)
            session.commit()
            assert row.id is not None
            return {"id": row.id, "counter": counter}

    app.router.add_event_handler("shutdown", engine.dispose)
    return app
