"""Alembic environment: migrates GREENLANE_DATABASE_URL (or the url the caller set)."""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

import api.db.models  # noqa: F401 - registers the tables on SQLModel.metadata
from api.db.database import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get("GREENLANE_DATABASE_URL", "sqlite:///./greenlane.db")
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
