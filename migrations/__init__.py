"""Alembic migrations (shipped with the package so `greenlane serve` can migrate)."""
