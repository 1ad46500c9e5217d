"""`Store`: the application's database, and `open_store` to get one."""

from __future__ import annotations

from forgeline.store.engine import create_engine, normalize_database_url
from forgeline.store.events import EventsMixin
from forgeline.store.findings import FindingsMixin
from forgeline.store.github import GitHubMixin
from forgeline.store.journal import JournalMixin
from forgeline.store.migrate import upgrade
from forgeline.store.projects import ProjectsMixin
from forgeline.store.questions import QuestionsMixin
from forgeline.store.tasks import TasksMixin
from forgeline.store.usage import UsageMixin


class Store(
    ProjectsMixin,
    TasksMixin,
    QuestionsMixin,
    EventsMixin,
    UsageMixin,
    FindingsMixin,
    GitHubMixin,
    JournalMixin,
):
    """Projects, repositories, tasks, questions, events, usage, findings and durable steps.

    Every method runs in its own transaction and returns plain records
    (`forgeline.store.schemas`, `forgeline.domain.events.Event`). Get one with
    `open_store`; call `close()` when done.
    """


async def open_store(url: str) -> Store:
    """Open the database at `url`, applying any pending migrations.

    Args:
        url: `sqlite:///path` (the parent directory is created) or a PostgreSQL URL
            (`postgresql://...` or `postgresql+asyncpg://...`).

    Raises:
        UserError: The URL is not supported.
    """
    engine = create_engine(normalize_database_url(url))
    try:
        await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine)
