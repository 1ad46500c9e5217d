"""Token usage and cost, per model call (or batch of calls)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, Update, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from forgeline.domain.messages import Usage
from forgeline.store.core import StoreCore, not_found
from forgeline.store.models import ProjectRow, UsageRow
from forgeline.store.schemas import UsageBreakdown, UsageSummary
from forgeline.store.spend import Spend
from forgeline.store.types import utcnow

_SUMS = (
    func.coalesce(func.sum(UsageRow.input_tokens), 0),
    func.coalesce(func.sum(UsageRow.output_tokens), 0),
    func.coalesce(func.sum(UsageRow.cache_read_tokens), 0),
    func.coalesce(func.sum(UsageRow.cache_write_tokens), 0),
    func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
    func.coalesce(func.sum(UsageRow.calls), 0),
)


_USAGE = cast(Table, UsageRow.__table__)


_PROJECTS = cast(Table, ProjectRow.__table__)

__all__ = ["NewUsage", "Spend", "UsageMixin", "add_spent", "insert_usage"]


@dataclass(frozen=True, kw_only=True)
class NewUsage:
    """A usage row to record: who spent it (agent, model) and how much."""

    agent: str
    model: str
    usage: Usage


def insert_usage(project_id: str, task_id: str | None, entry: NewUsage) -> Insert:
    """The Core `INSERT` of one usage row (no ORM on this hot path)."""
    usage = entry.usage
    return insert(_USAGE).values(
        project_id=project_id,
        task_id=task_id,
        agent=entry.agent,
        model=entry.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        calls=usage.calls,
        cost_usd=usage.cost_usd,
        created_at=utcnow(),
    )


def add_spent(project_id: str, cost_usd: float) -> Update:
    """The `UPDATE` adding a usage row's cost to its project's spend (same transaction)."""
    spent = _PROJECTS.c.spent_usd + cost_usd
    return update(_PROJECTS).where(_PROJECTS.c.id == project_id).values(spent_usd=spent)


def _usage_of(values: Any) -> Usage:
    inputs, outputs, cache_read, cache_write, cost, calls = values
    return Usage(
        input_tokens=int(inputs),
        output_tokens=int(outputs),
        cache_read_tokens=int(cache_read),
        cache_write_tokens=int(cache_write),
        cost_usd=float(cost),
        calls=int(calls),
    )


async def _grouped(session: AsyncSession, project_id: str, column: Any) -> list[UsageBreakdown]:
    query = (
        select(column, *_SUMS)
        .where(UsageRow.project_id == project_id)
        .group_by(column)
        .order_by(column)
    )
    rows = (await session.execute(query)).all()
    return [UsageBreakdown(key=row[0], usage=_usage_of(row[1:])) for row in rows]


class UsageMixin(StoreCore):
    """Usage (`usage`)."""

    async def record_usage(
        self, project_id: str, task_id: str | None, agent: str, model: str, usage: Usage
    ) -> None:
        """Record the usage of model calls made by an agent.

        Raises:
            NotFoundError: There is no such project.
        """
        entry = NewUsage(agent=agent, model=model, usage=usage)

        async def record(conn: AsyncConnection) -> None:
            await conn.execute(insert_usage(project_id, task_id, entry))
            await conn.execute(add_spent(project_id, usage.cost_usd))

        try:
            await self._write_core(record)
        except IntegrityError:
            raise not_found("project", project_id) from None

    async def spend(self, project_id: str) -> Spend:
        """The project's budget and spend (checked before each model call).

        The spend is `projects.spent_usd`, which every usage row's insert raises in its
        transaction: the sum of the rows' cost (`usage_summary`'s total), read as one
        row whatever their number (`forgeline.store.spend`).

        Raises:
            NotFoundError: There is no such project.
        """
        found = await self._spend_reader.read(project_id)
        if found is None:
            raise not_found("project", project_id)
        return found

    async def usage_summary(self, project_id: str) -> UsageSummary:
        """A project's usage: totals, and per agent and per model (sorted by name)."""

        async def summarise(session: AsyncSession) -> UsageSummary:
            query = select(*_SUMS).where(UsageRow.project_id == project_id)
            total = _usage_of((await session.execute(query)).one())
            return UsageSummary(
                total=total,
                by_agent=await _grouped(session, project_id, UsageRow.agent),
                by_model=await _grouped(session, project_id, UsageRow.model),
            )

        return await self._read(summarise)
