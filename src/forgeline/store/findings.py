"""Overwatcher findings and their resolution."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.domain.errors import UserError
from forgeline.domain.findings import Finding
from forgeline.store.core import StoreCore, not_found
from forgeline.store.models import FindingRow, ProjectRow
from forgeline.store.schemas import FINDING_STATUSES, FindingRecord, FindingStatus
from forgeline.store.types import utcnow


class FindingsMixin(StoreCore):
    """Findings (`findings`)."""

    async def add_finding(
        self,
        project_id: str,
        task_id: str | None,
        agent: str,
        finding: Finding,
        *,
        commit_sha: str | None = None,
        round: int = 0,
    ) -> FindingRecord:
        """Record one finding of an overwatcher (`review`, `security` or `test`).

        Args:
            project_id: The project.
            task_id: The overwatcher's task.
            agent: The overwatcher.
            finding: What it found.
            commit_sha: The commit it reviewed.
            round: The gate round the finding belongs to.

        Raises:
            NotFoundError: There is no such project.
        """

        async def add(session: AsyncSession) -> FindingRecord:
            if await session.get(ProjectRow, project_id) is None:
                raise not_found("project", project_id)
            row = FindingRow(
                project_id=project_id,
                task_id=task_id,
                agent=agent,
                commit_sha=commit_sha,
                severity=finding.severity,
                path=finding.path,
                line=finding.line,
                message=finding.message,
                status="open",
                round=round,
                created_at=utcnow(),
            )
            session.add(row)
            await session.flush()
            return FindingRecord.model_validate(row)

        return await self._write(add)

    async def list_findings(
        self,
        project_id: str,
        *,
        status: FindingStatus | None = None,
        agent: str | None = None,
    ) -> list[FindingRecord]:
        """A project's findings, oldest first, optionally by status and agent."""
        if status is not None and status not in FINDING_STATUSES:
            raise UserError(f"Invalid finding status {status!r}: open or resolved.")
        query = select(FindingRow).where(FindingRow.project_id == project_id)
        if status is not None:
            query = query.where(FindingRow.status == status)
        if agent is not None:
            query = query.where(FindingRow.agent == agent)
        query = query.order_by(FindingRow.id)

        async def run(session: AsyncSession) -> list[FindingRecord]:
            rows = (await session.scalars(query)).all()
            return [FindingRecord.model_validate(row) for row in rows]

        return await self._read(run)

    async def resolve_findings(self, project_id: str, ids: Iterable[int]) -> int:
        """Mark findings of a project resolved; return how many changed state.

        Ids of other projects' findings, unknown or already resolved ids are ignored.
        """
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        statement = (
            update(FindingRow)
            .where(
                FindingRow.project_id == project_id,
                FindingRow.id.in_(wanted),
                FindingRow.status == "open",
            )
            .values(status="resolved")
            .execution_options(synchronize_session=False)
        )

        async def run(session: AsyncSession) -> int:
            result = await session.execute(statement)
            return int(getattr(result, "rowcount", 0))

        return await self._write(run)
