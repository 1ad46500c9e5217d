"""Who authors a project's commits (DESIGN §13 sign-in): optionally its GitHub owner."""

from __future__ import annotations

import re

from forgeline.settings import Settings
from forgeline.store.schemas import ProjectRecord

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


def commit_author(settings: Settings, project: ProjectRecord) -> tuple[str, str]:
    """The commits' author name and email.

    With `FORGELINE_GITHUB_COMMIT_AS_USER` and a project created by a user signed in with
    GitHub: `login <login@users.noreply.github.com>`; otherwise the configured author.
    """
    login = (project.owner or "").removeprefix("github:")
    if settings.github_commit_as_user and project.owner and _LOGIN.match(login):
        return login, f"{login}@users.noreply.github.com"
    return settings.commit_author_name, settings.commit_author_email
