"""The step journal: each durable step's outcome in Forgeline's own database (issue 10).

Agent steps (model calls, tool calls) and the other steps of a workflow were DBOS
steps: two system-database transactions and several thread hops each. They are now
rows here, written through the store's own writer (`orchestrator.journal`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "steps",
        sa.Column("workflow_id", sa.String(128), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("output", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_steps_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "number", name=op.f("pk_steps")),
    )
    op.create_index(op.f("ix_steps_project_id"), "steps", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_steps_project_id"), table_name="steps")
    op.drop_table("steps")
