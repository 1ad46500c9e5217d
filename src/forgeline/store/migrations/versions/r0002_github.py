"""GitHub (DESIGN §13): a project's pull request mode, each repository's pull request, and the
webhook deliveries already handled.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("pr_mode", sa.String(8), nullable=False, server_default="draft"))
    with op.batch_alter_table("repositories") as batch:
        batch.add_column(sa.Column("pull_request", _json(), nullable=True))
    op.create_table(
        "github_deliveries",
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_github_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("github_deliveries")
    with op.batch_alter_table("repositories") as batch:
        batch.drop_column("pull_request")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("pr_mode")
