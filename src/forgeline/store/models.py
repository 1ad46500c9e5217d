"""The database tables, as SQLAlchemy 2 typed declarative models.

These classes never leave the `store` package: `Store` returns the records of
`forgeline.store.schemas`. Task ids in `questions`, `events`, `usage` and
`findings` are deliberately not foreign keys: those tables are logs, and a log line
must never be refused because its task row is missing. Every child table cascades
from `projects`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from forgeline.store.types import UTCDateTime, json_type, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PROJECT_FK = "projects.id"


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (needed for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _project_fk(*, index: bool = True) -> Mapped[str]:
    return mapped_column(
        String(64), ForeignKey(PROJECT_FK, ondelete="CASCADE"), nullable=False, index=index
    )


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    feature_request: Mapped[str] = mapped_column(Text, nullable=False)
    phases: Mapped[list[str]] = mapped_column(json_type(), nullable=False)
    model: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="created")
    current_phase: Mapped[str | None] = mapped_column(Text, nullable=True)
    workspace: Mapped[str] = mapped_column(Text, nullable=False)
    slug: Mapped[str] = mapped_column(Text, nullable=False)
    branch: Mapped[str] = mapped_column(Text, nullable=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    allow_network: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pr_mode: Mapped[str] = mapped_column(
        String(8), nullable=False, default="draft", server_default="draft"
    )
    owner: Mapped[str | None] = mapped_column(Text, nullable=True)
    max_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The sum of its usage rows' cost, kept in the transaction that inserts each one.
    spent_usd: Mapped[float] = mapped_column(Float, nullable=False, default=0.0, server_default="0")
    agent_models: Mapped[dict[str, str] | None] = mapped_column(json_type(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class RepositoryRow(Base):
    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("project_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk(index=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    base_branch: Mapped[str | None] = mapped_column(Text, nullable=True)
    branch: Mapped[str | None] = mapped_column(Text, nullable=True)
    base_sha: Mapped[str | None] = mapped_column(Text, nullable=True)
    pull_request: Mapped[dict[str, Any] | None] = mapped_column(json_type(), nullable=True)
    setup: Mapped[str | None] = mapped_column(Text, nullable=True)


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = _project_fk()
    phase: Mapped[str] = mapped_column(Text, nullable=False)
    agent: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(
        String(16), nullable=False, default="phase", server_default="phase"
    )
    round: Mapped[int | None] = mapped_column(Integer, nullable=True)
    workflow_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[Any | None] = mapped_column(json_type(), nullable=True)
    model: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QuestionRow(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("project_id", "batch", "position"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = _project_fk(index=False)
    task_id: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    batch: Mapped[str] = mapped_column(Text, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    header: Mapped[str | None] = mapped_column(Text, nullable=True)
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(json_type(), nullable=True)
    multi_select: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    answer: Mapped[dict[str, Any] | None] = mapped_column(json_type(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("project_id", "dedup_key"),)

    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(PROJECT_FK, ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    task_id: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(json_type(), nullable=False)
    dedup_key: Mapped[str | None] = mapped_column(Text, nullable=True)


class UsageRow(Base):
    __tablename__ = "usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    task_id: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    agent: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str] = mapped_column(Text, nullable=False)
    input_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class StepRow(Base):
    """One durable step's outcome (`orchestrator.journal`): a workflow's N-th step."""

    __tablename__ = "steps"

    workflow_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    project_id: Mapped[str] = _project_fk()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    output: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (Index(None, "project_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk(index=False)
    task_id: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    agent: Mapped[str] = mapped_column(Text, nullable=False)
    commit_sha: Mapped[str | None] = mapped_column(Text, nullable=True)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class GitHubDeliveryRow(Base):
    """A GitHub webhook delivery already handled (`X-GitHub-Delivery`), for deduplication."""

    __tablename__ = "github_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
