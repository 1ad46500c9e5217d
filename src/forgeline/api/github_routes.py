"""GitHub routes (DESIGN §7, §13): a review round on demand, and GitHub's webhook."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from forgeline.api.deps import ServiceDep, SettingsDep
from forgeline.api.projects import public_task
from forgeline.github.models import GitHubError
from forgeline.github.webhook import WebhookRefused, handle, verify
from forgeline.store import TaskRecord

router = APIRouter(tags=["github"])


@router.post("/api/projects/{project_id}/iterate", status_code=202)
async def iterate(project_id: str, service: ServiceDep) -> TaskRecord:
    """Another implementation round from the pull requests' unresolved review comments."""
    return public_task(service, await service.start_iteration(project_id))


@router.post("/webhooks/github")
async def github_webhook(
    request: Request, service: ServiceDep, settings: SettingsDep
) -> JSONResponse:
    """GitHub's deliveries: a submitted `pull_request_review` starts one review round."""
    secret = settings.github_webhook_secret
    headers = {k.lower(): v for k, v in request.headers.items()}
    body = await request.body()
    try:
        event = verify(headers, body, secret.get_secret_value() if secret else None)
    except WebhookRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    try:
        outcome = await handle(service, event)
    except GitHubError as exc:  # GitHub itself failed us: say so, GitHub may redeliver
        return JSONResponse({"detail": str(exc)}, status_code=502)
    content: dict[str, Any] = {"status": outcome.status, "detail": outcome.detail}
    if outcome.task_id:
        content["task_id"] = outcome.task_id
    return JSONResponse(content, status_code=202 if outcome.status == "started" else 200)
