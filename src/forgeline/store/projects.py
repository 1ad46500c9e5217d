"""Projects and their repositories."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Unpack, cast

from sqlalchemy import Row, Table, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from forgeline.domain.errors import ConflictError, UserError
from forgeline.store.core import StoreCore, check_id, not_found
from forgeline.store.models import ProjectRow, RepositoryRow
from forgeline.store.pgwriter import PostgresWriter
from forgeline.store.rawrows import (
    PROJECT_BY_ID,
    REPOSITORIES_OF,
    UpdateProject,
    pg_row,
    pg_update_project,
    project_of,
    repository_of,
)
from forgeline.store.schemas import (
    PROJECT_STATUSES,
    NewRepository,
    ProjectRecord,
    ProjectStatus,
    ProjectUpdate,
    PullRequestMode,
    RepositoryRecord,
    RepositoryUpdate,
)
from forgeline.store.types import utcnow

_NAME_LENGTH = 80
_PROJECTS = cast(Table, ProjectRow.__table__)
_REPOSITORIES = cast(Table, RepositoryRow.__table__)
_PROJECT_COLUMNS = [_PROJECTS.c[name] for name in ProjectRecord.model_fields]
_PROJECT = select(*_PROJECT_COLUMNS).where(_PROJECTS.c.id == bindparam("pid"))
_REPOSITORIES_OF = (
    select(*(_REPOSITORIES.c[name] for name in RepositoryRecord.model_fields))
    .where(_REPOSITORIES.c.project_id == bindparam("pid"))
    .order_by(_REPOSITORIES.c.position)
)


def new_id(prefix: str) -> str:
    """A fresh random id such as `prj-3f9a0c1d2e4b5a69`."""
    return f"{prefix}-{secrets.token_hex(8)}"


def default_name(feature_request: str) -> str:
    """A project name from the first line of its feature request."""
    first = feature_request.strip().splitlines()[0] if feature_request.strip() else "project"
    return first if len(first) <= _NAME_LENGTH else first[: _NAME_LENGTH - 1] + "…"


def _check_status(status: str) -> None:
    if status not in PROJECT_STATUSES:
        raise UserError(
            f"Invalid project status {status!r}: one of {', '.join(sorted(PROJECT_STATUSES))}."
        )


def _project(row: Row[Any]) -> ProjectRecord:
    """The record of a Core row (its values already converted by the column types)."""
    return ProjectRecord.model_validate(row._asdict())


class ProjectsMixin(StoreCore):
    """Projects (`projects`) and repositories (`repositories`)."""

    async def create_project(
        self,
        *,
        feature_request: str,
        phases: Sequence[str],
        workspace: str,
        slug: str,
        branch: str,
        name: str | None = None,
        model: str | None = None,
        allow_network: bool = False,
        pr_mode: PullRequestMode = "draft",
        owner: str | None = None,
        max_cost_usd: float | None = None,
        agent_models: Mapping[str, str] | None = None,
        status: ProjectStatus = "created",
        project_id: str | None = None,
        repositories: Sequence[NewRepository] = (),
    ) -> ProjectRecord:
        """Create a project, and optionally its repositories, in one transaction.

        Args:
            feature_request: What the user asked for.
            phases: The phases to run, in order.
            workspace: The workspace directory.
            slug: The feature slug; `branch` is usually `forgeline/<slug>`.
            branch: The feature branch.
            name: Display name; defaults to the request's first line.
            model: The project's model (`provider:model`), if chosen.
            allow_network: Whether sandboxed commands may use the network.
            pr_mode: Pull requests for GitHub repositories: `draft`, `ready` or `off`.
            owner: The user who created it (`github:<login>`), when signed in with GitHub.
            max_cost_usd: The project's budget in USD (None: no budget).
            agent_models: The model per agent name, over the project's model.
            status: Initial status.
            project_id: The id; a fresh one when None.
            repositories: Repositories to attach, in order.

        Raises:
            ConflictError: A project with this id exists.
            UserError: The id or status is invalid.
        """
        pid = check_id(project_id, kind="project") if project_id else new_id("prj")
        _check_status(status)
        now = utcnow()
        row = ProjectRow(
            id=pid,
            name=name or default_name(feature_request),
            feature_request=feature_request,
            phases=list(phases),
            model=model,
            status=status,
            current_phase=None,
            workspace=workspace,
            slug=slug,
            branch=branch,
            last_seq=0,
            allow_network=allow_network,
            pr_mode=pr_mode,
            owner=owner,
            max_cost_usd=max_cost_usd,
            agent_models=dict(agent_models or {}),
            created_at=now,
            updated_at=now,
        )

        async def create(session: AsyncSession) -> ProjectRecord:
            if await session.get(ProjectRow, pid) is not None:
                raise ConflictError(f"A project with id {pid!r} already exists.")
            session.add(row)
            await session.flush()
            await _insert_repositories(session, pid, repositories)
            return ProjectRecord.model_validate(row)

        try:
            return await self._write(create)
        except IntegrityError as exc:
            raise ConflictError(f"A project with id {pid!r} already exists.") from exc

    async def get_project(self, project_id: str) -> ProjectRecord:
        """The project with this id.

        Raises:
            NotFoundError: There is none.
        """
        if self._is_sqlite:
            rows = self._spend_reader.local_rows(PROJECT_BY_ID, (project_id,))
            if rows is not None:
                if not rows:
                    raise not_found("project", project_id)
                return project_of(rows[0])
        if self._pg_writer is not None:
            found = await pg_row(self._pg_writer, PROJECT_BY_ID, project_id)
            if found is None:
                raise not_found("project", project_id)
            return project_of(found)

        async def get(conn: AsyncConnection) -> ProjectRecord:  # SQLite answered busy
            row = (await conn.execute(_PROJECT, {"pid": project_id})).one_or_none()
            if row is None:
                raise not_found("project", project_id)
            return _project(row)

        return await self._read_core(get)

    async def list_projects(self) -> list[ProjectRecord]:
        """Every project, newest first."""

        async def list_all(session: AsyncSession) -> list[ProjectRecord]:
            query = select(ProjectRow).order_by(ProjectRow.created_at.desc(), ProjectRow.id)
            rows = (await session.scalars(query)).all()
            return [ProjectRecord.model_validate(row) for row in rows]

        return await self._read(list_all)

    async def update_project(
        self, project_id: str, **fields: Unpack[ProjectUpdate]
    ) -> ProjectRecord:
        """Change some fields of a project and return it.

        Raises:
            NotFoundError: There is no such project.
            UserError: An unknown field or invalid status.
        """
        changes: dict[str, Any] = dict(fields)
        unknown = set(changes) - ProjectUpdate.__optional_keys__
        if unknown:
            raise UserError(f"Cannot update project field(s): {', '.join(sorted(unknown))}.")
        if "status" in changes:
            _check_status(changes["status"])
        if "phases" in changes:
            changes["phases"] = list(changes["phases"])

        if self._sqlite_writer is not None:
            return await self._sqlite_writer.run(UpdateProject(project_id, changes))
        return await pg_update_project(cast(PostgresWriter, self._pg_writer), project_id, changes)

    async def delete_project(self, project_id: str) -> None:
        """Delete a project and everything recorded about it.

        Raises:
            NotFoundError: There is no such project.
        """

        async def remove(session: AsyncSession) -> None:
            result = await session.execute(
                delete(ProjectRow)
                .where(ProjectRow.id == project_id)
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                raise not_found("project", project_id)

        await self._write(remove)

    async def add_repositories(
        self, project_id: str, repositories: Sequence[NewRepository]
    ) -> list[RepositoryRecord]:
        """Attach repositories after the project's existing ones; return the new rows.

        Raises:
            NotFoundError: There is no such project.
        """

        async def add(session: AsyncSession) -> list[RepositoryRecord]:
            if await session.get(ProjectRow, project_id, with_for_update=True) is None:
                raise not_found("project", project_id)
            return await _insert_repositories(session, project_id, repositories)

        return await self._write(add)

    async def list_repositories(self, project_id: str) -> list[RepositoryRecord]:
        """A project's repositories in order (empty for an unknown project)."""
        if self._is_sqlite:
            rows = self._spend_reader.local_rows(REPOSITORIES_OF, (project_id,))
            if rows is not None:
                return [repository_of(row) for row in rows]

        async def list_all(conn: AsyncConnection) -> list[RepositoryRecord]:
            rows = (await conn.execute(_REPOSITORIES_OF, {"pid": project_id})).all()
            return [RepositoryRecord.model_validate(row._asdict()) for row in rows]

        return await self._read_core(list_all)

    async def update_repository(
        self, repository_id: int, **fields: Unpack[RepositoryUpdate]
    ) -> RepositoryRecord:
        """Change a repository's branches or base commit and return it.

        Raises:
            NotFoundError: There is no such repository.
            UserError: An unknown field.
        """
        unknown = set(fields) - RepositoryUpdate.__optional_keys__
        if unknown:
            raise UserError(f"Cannot update repository field(s): {', '.join(sorted(unknown))}.")

        async def update(session: AsyncSession) -> RepositoryRecord:
            row = await session.get(RepositoryRow, repository_id)
            if row is None:
                raise not_found("repository", repository_id)
            for key, value in fields.items():
                setattr(row, key, value)
            await session.flush()
            return RepositoryRecord.model_validate(row)

        return await self._write(update)


async def _insert_repositories(
    session: AsyncSession, project_id: str, repositories: Sequence[NewRepository]
) -> list[RepositoryRecord]:
    query = select(func.max(RepositoryRow.position)).where(RepositoryRow.project_id == project_id)
    last = (await session.execute(query)).scalar_one_or_none()
    start = 0 if last is None else last + 1
    rows = [
        RepositoryRow(project_id=project_id, position=start + offset, **repo.model_dump())
        for offset, repo in enumerate(repositories)
    ]
    session.add_all(rows)
    await session.flush()
    return [RepositoryRecord.model_validate(row) for row in rows]
