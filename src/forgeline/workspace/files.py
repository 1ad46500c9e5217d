"""The workspace's own files: metadata.json, session.json and the JSONL task logs."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from forgeline.domain.errors import NotFoundError, UserError
from forgeline.workspace.metadata import WorkspaceMetadata
from forgeline.workspace.paths import Workspace


def read_metadata(ws: Workspace) -> WorkspaceMetadata:
    """The workspace's `.forgeline/metadata.json`.

    Raises:
        NotFoundError: The file is missing.
        UserError: The file is not valid metadata.
    """
    try:
        text = ws.metadata_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"workspace of project '{ws.project_id}' has no metadata") from None
    try:
        return WorkspaceMetadata.model_validate_json(text)
    except ValidationError as exc:
        raise UserError(f"unreadable {ws.metadata_path}: {exc.error_count()} error(s)") from None


def write_metadata(ws: Workspace, metadata: WorkspaceMetadata) -> None:
    """Replace `.forgeline/metadata.json` atomically."""
    _atomic_write(ws.metadata_path, metadata.model_dump_json(indent=2) + "\n")


def write_session(ws: Workspace, data: dict[str, Any]) -> None:
    """Replace `.forgeline/session.json` atomically (temp file, fsync, `os.replace`).

    Args:
        ws: The workspace.
        data: JSON-serialisable content (datetimes and paths are written as strings).
    """
    _atomic_write(ws.session_path, json.dumps(data, indent=2, default=_json_default) + "\n")


def read_session(ws: Workspace) -> dict[str, Any]:
    """`.forgeline/session.json`, or `{}` when it does not exist yet.

    Raises:
        UserError: The file is not a JSON object.
    """
    try:
        data = json.loads(ws.session_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise UserError(f"unreadable {ws.session_path}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"unreadable {ws.session_path}: not a JSON object")
    return data


def append_log(ws: Workspace, task_id: str, record: dict[str, Any]) -> None:
    """Append one record to `.forgeline/logs/<task_id>.jsonl` as a single line.

    Called for every event, so it stays cheap: the log's path is worked out (and the
    task id checked) once per workspace and task, the line goes out in one unbuffered
    `write` (on disk, in the page cache, when this returns, as before), and the logs
    directory is made only when the file cannot be opened without it.

    Args:
        ws: The workspace.
        task_id: The task (a safe file name).
        record: JSON-serialisable content; `ts` (UTC, ISO 8601) is added unless present.
    """
    path = _log_file(ws, task_id)
    line = json.dumps(
        {"ts": datetime.now(UTC).isoformat(), **record},
        default=_json_default,
        ensure_ascii=False,
    )
    _append(path, (line + "\n").encode("utf-8"))


@functools.lru_cache(maxsize=1024)
def _log_file(ws: Workspace, task_id: str) -> str:
    """`ws.log_path(task_id)` as a string, remembered (an invalid task id raises each time)."""
    return os.fspath(ws.log_path(task_id))


_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


def _append(path: str, data: bytes) -> None:
    """Append `data` to the file at `path` (made, with its directory, if missing)."""
    try:
        fd = os.open(path, _APPEND, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, _APPEND, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def read_log(ws: Workspace, task_id: str) -> list[dict[str, Any]]:
    """Every record of a task's log, oldest first; `[]` when there is none."""
    try:
        text = ws.log_path(task_id).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)
