"""A project's spend as a column, kept with its usage rows (issue 10).

The budget check before every model call summed the project's usage rows; it now
reads `projects.spent_usd`, which each usage row's insert raises in its own
transaction. The upgrade sets it to the sum of the rows already there.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, no batch: on SQLite a batch operation on `projects` copies it and
# drops the original, and with foreign keys on that drop deletes every child row.


def upgrade() -> None:
    column = sa.Column("spent_usd", sa.Float(), nullable=False, server_default=sa.text("0"))
    op.add_column("projects", column)
    projects = sa.table("projects", sa.column("id", sa.String), sa.column("spent_usd", sa.Float))
    usage = sa.table("usage", sa.column("project_id", sa.String), sa.column("cost_usd", sa.Float))
    spent = (
        sa.select(sa.func.coalesce(sa.func.sum(usage.c.cost_usd), 0.0))
        .where(usage.c.project_id == projects.c.id)
        .scalar_subquery()
    )
    op.get_bind().execute(projects.update().values(spent_usd=spent))


def downgrade() -> None:
    op.drop_column("projects", "spent_usd")  # SQLite >= 3.35 drops a column in place
