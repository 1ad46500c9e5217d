"""Token usage and cost, per model call (or batch of calls)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.domain.messages import Usage
from forgeline.store.core import StoreCore, not_found
from forgeline.store.models import ProjectRow, UsageRow
from forgeline.store.schemas import UsageBreakdown, UsageSummary
from forgeline.store.types import utcnow

_SUMS = (
    func.coalesce(func.sum(UsageRow.input_tokens), 0),
    func.coalesce(func.sum(UsageRow.output_tokens), 0),
    func.coalesce(func.sum(UsageRow.cache_read_tokens), 0),
    func.coalesce(func.sum(UsageRow.cache_write_tokens), 0),
    func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
    func.coalesce(func.sum(UsageRow.calls), 0),
)


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

        async def record(session: AsyncSession) -> None:
            if await session.get(ProjectRow, project_id) is None:
                raise not_found("project", project_id)
            session.add(
                UsageRow(
                    project_id=project_id,
                    task_id=task_id,
                    agent=agent,
                    model=model,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cache_read_tokens=usage.cache_read_tokens,
                    cache_write_tokens=usage.cache_write_tokens,
                    calls=usage.calls,
                    cost_usd=usage.cost_usd,
                    created_at=utcnow(),
                )
            )

        await self._write(record)

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
