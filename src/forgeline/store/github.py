"""Store methods for GitHub (DESIGN §13): webhook deliveries and pull request lookups."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.store.core import StoreCore
from forgeline.store.models import GitHubDeliveryRow, RepositoryRow
from forgeline.store.schemas import RepositoryRecord
from forgeline.store.types import utcnow


class GitHubMixin(StoreCore):
    """Webhook deliveries and repositories that have a pull request."""

    async def record_delivery(self, delivery_id: str, event: str) -> bool:
        """Remember a webhook delivery; False when it was seen before (a redelivery)."""

        async def add(session: AsyncSession) -> bool:
            if await session.get(GitHubDeliveryRow, delivery_id) is not None:
                return False
            session.add(
                GitHubDeliveryRow(delivery_id=delivery_id, event=event, created_at=utcnow())
            )
            await session.flush()
            return True

        try:
            return await self._write(add)
        except IntegrityError:
            return False

    async def forget_delivery(self, delivery_id: str) -> None:
        """Forget a delivery that could not be acted on, so that GitHub may redeliver it."""

        async def remove(session: AsyncSession) -> None:
            row = await session.get(GitHubDeliveryRow, delivery_id)
            if row is not None:
                await session.delete(row)

        await self._write(remove)

    async def repositories_with_pull_requests(self) -> list[RepositoryRecord]:
        """Every repository of every project that has a pull request recorded."""

        async def run(session: AsyncSession) -> list[RepositoryRecord]:
            query = select(RepositoryRow).where(RepositoryRow.pull_request.is_not(None))
            rows = (await session.scalars(query)).all()
            return [RepositoryRecord.model_validate(r) for r in rows]

        return await self._read(run)
