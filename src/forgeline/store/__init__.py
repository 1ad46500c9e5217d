"""Storage: SQLAlchemy models, Alembic migrations and the `Store` (DESIGN §9)."""

from __future__ import annotations

from forgeline.store.engine import normalize_database_url
from forgeline.store.projects import new_id
from forgeline.store.repo import Store, open_store
from forgeline.store.schemas import (
    FindingRecord,
    NewRepository,
    ProjectRecord,
    QuestionRecord,
    RepositoryRecord,
    TaskRecord,
    UsageBreakdown,
    UsageSummary,
)

__all__ = [
    "FindingRecord",
    "NewRepository",
    "ProjectRecord",
    "QuestionRecord",
    "RepositoryRecord",
    "Store",
    "TaskRecord",
    "UsageBreakdown",
    "UsageSummary",
    "new_id",
    "normalize_database_url",
    "open_store",
]
