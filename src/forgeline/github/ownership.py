"""Projects belong to the GitHub user who created them (DESIGN §13).

For a request signed in with GitHub, `OwnershipMiddleware` finds the project the request is
about (from its path: `/api/projects/{id}`, `/projects/{id}`, `/agents/{task}/...`,
`/api/questions/{id}/...`; or, for the original `/agents/<phase>/start` endpoints, from the
body's `project_id`) and answers 404 when it is another user's. Lists show only the user's
own projects (`visible`). Requests signed in with the API token (single-user and API use)
see everything; projects made that way have no owner.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forgeline.api.respond import send_error
from forgeline.domain.errors import NotFoundError
from forgeline.github.oauth import owner_of
from forgeline.store.schemas import ProjectRecord

request_owner: ContextVar[str | None] = ContextVar("forgeline_request_owner", default=None)
"""The owner name (`github:<login>`) of the current request's user, when signed in with GitHub."""

_PROJECT_PATH = re.compile(r"^/(?:api/)?projects/([^/]+)")
_TASK_PATH = re.compile(r"^/(?:api/)?(?:agents|tasks)/([^/]+)/")
_QUESTION_PATH = re.compile(r"^/api/questions/([^/]+)")
_BODY_PATHS = frozenset(
    {"/agents/research/start", "/agents/planning/start", "/agents/implementation/start"}
)
_MAX_BODY = 1024 * 1024


def visible(project: ProjectRecord) -> bool:
    """Whether the current request's user may see `project`."""
    owner = request_owner.get()
    return owner is None or project.owner == owner


class OwnershipMiddleware:
    """Refuse (404) a GitHub user's request about another user's project."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        owner = owner_of(principal)
        if owner is None:
            await self.app(scope, receive, send)
            return
        reset = request_owner.set(owner)
        try:
            checked = await self._checked(scope, receive, send, owner)
            if checked is not None:
                await self.app(scope, checked, send)
        finally:
            request_owner.reset(reset)

    async def _checked(
        self, scope: Scope, receive: Receive, send: Send, owner: str
    ) -> Receive | None:
        path: str = scope.get("path", "")
        replay = receive
        project_id = await _project_of_path(scope, path)
        if project_id is None and path in _BODY_PATHS:
            body, replay = await _buffer(receive)
            project_id = _body_project(body)
        if project_id is not None and not await _owned(scope, project_id, owner):
            await send_error(scope, send, 404, f"no project '{project_id[:64]}'", [])
            return None
        return replay


async def _project_of_path(scope: Scope, path: str) -> str | None:
    store = scope["app"].state.service.store
    if match := _PROJECT_PATH.match(path):
        return match.group(1)
    try:
        if match := _TASK_PATH.match(path):
            return str((await store.get_task(match.group(1))).project_id)
        if match := _QUESTION_PATH.match(path):
            return str((await store.get_question(match.group(1))).project_id)
    except NotFoundError:
        return None  # the route answers 404 itself
    return None


async def _owned(scope: Scope, project_id: str, owner: str) -> bool:
    try:
        project = await scope["app"].state.service.store.get_project(project_id)
    except NotFoundError:
        return True  # the route answers 404 itself
    return bool(project.owner == owner)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body")) and sum(map(len, chunks)) <= _MAX_BODY
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _body_project(body: bytes) -> str | None:
    try:
        data: Any = json.loads(body or b"{}")
    except ValueError:
        return None
    value = data.get("project_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
