"""Long runs: a project's budget, and the model each task's agent runs on (DESIGN §15).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("max_cost_usd", sa.Float(), nullable=True))
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("model", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("model")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("max_cost_usd")
