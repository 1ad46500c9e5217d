"""The task tree as data: each task's parent, kind and round (issue 8).

Before this revision a task's place was spelled in its id: `run-<hex>` a pipeline,
`run-<hex>-<phase>` its phases, `<impl>-cp<N>-<agent>` and `<impl>-gate<N>-<agent>`
overwatchers (N counted checkpoints and gates together), `<impl>-docs` documentation,
`iterate-<hex>` a GitHub review round. The upgrade reads that back into columns so old
projects group like new ones: a checkpoint's round is its rank among its parent's
checkpoints, a gate's its rank among the parent's gates.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OVERWATCHER = re.compile(r"^(?P<parent>.+)-(?P<kind>cp|gate)(?P<n>\d+)-[a-z_]+$")
_DOCS = re.compile(r"^(?P<parent>.+)-docs$")
_PIPELINE = re.compile(r"^run-[0-9a-f]+$")
_PIPELINE_PHASE = re.compile(r"^(?P<parent>run-[0-9a-f]+)-[a-z]+$")
_ITERATE = re.compile(r"^iterate-[0-9a-f]+$")


class _Place(NamedTuple):
    parent_id: str | None
    kind: str
    number: int | None


def _place(task_id: str) -> _Place:
    """Where the old id put the task (`number` is the counter in a cp/gate id)."""
    found = _OVERWATCHER.match(task_id)
    if found:
        kind = "checkpoint" if found["kind"] == "cp" else "gate"
        return _Place(found["parent"], kind, int(found["n"]))
    for pattern, kind in ((_DOCS, "documentation"), (_PIPELINE_PHASE, "phase")):
        found = pattern.match(task_id)
        if found:
            return _Place(found["parent"], kind, None)
    if _PIPELINE.match(task_id):
        return _Place(None, "pipeline", None)
    return _Place(None, "iterate" if _ITERATE.match(task_id) else "phase", None)


def _rounds(places: dict[str, _Place]) -> dict[str, int]:
    """Each overwatcher's round: the rank of its counter among its parent's of its kind."""
    counters: dict[tuple[str | None, str], set[int]] = {}
    for place in places.values():
        if place.number is not None:
            counters.setdefault((place.parent_id, place.kind), set()).add(place.number)
    ranks = {key: {n: i + 1 for i, n in enumerate(sorted(ns))} for key, ns in counters.items()}
    return {
        tid: ranks[(p.parent_id, p.kind)][p.number]
        for tid, p in places.items()
        if p.number is not None
    }


def _backfill(tasks: sa.TableClause) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(tasks.c.id, tasks.c.project_id)).all()
    project_of = {row.id: row.project_id for row in rows}
    places = {row.id: _place(row.id) for row in rows}
    rounds = _rounds(places)
    for tid, place in places.items():
        parent = place.parent_id
        if parent is not None and project_of.get(parent) != project_of[tid]:
            parent = None  # the id looked like a child's, but there is no such parent
        if parent is None and place.kind in ("checkpoint", "gate", "documentation"):
            continue  # keep the defaults: a top-level phase task
        values = {"parent_id": parent, "kind": place.kind, "round": rounds.get(tid)}
        bind.execute(tasks.update().where(tasks.c.id == tid).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="phase"))
        batch.add_column(sa.Column("round", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_tasks_parent_id"), ["parent_id"])
    tasks = sa.table(
        "tasks",
        sa.column("id", sa.String),
        sa.column("project_id", sa.String),
        sa.column("parent_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("round", sa.Integer),
    )
    _backfill(tasks)


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index(op.f("ix_tasks_parent_id"))
        batch.drop_column("round")
        batch.drop_column("kind")
        batch.drop_column("parent_id")
