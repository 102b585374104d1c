"""Persistence: SQLModel tables and the database handle."""
