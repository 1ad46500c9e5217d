"""Alembic migrations of the Forgeline database (applied by `open_store`)."""
