"""The file tools: Read, Write and Edit.

All three work on paths inside the workspace (see `forgeline.tools.paths`). Write and
Edit refuse to touch an existing file the agent has not Read in this run, or one that
changed on disk since it was read, so an agent never overwrites what it has not seen.
"""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext, ToolInput
from forgeline.tools.paths import check_writable, display_path, resolve_in_workspace
from forgeline.tools.textfile import (
    DEFAULT_READ_LIMIT,
    MAX_LINE_CHARS,
    TextWindow,
    format_numbered,
    human_size,
    is_binary,
    read_window,
)

_FILE_PATH_HELP = "The file's path: absolute, or relative to the workspace root."
# Room kept in a Read result's character cap for the notes after the numbered lines.
_READ_NOTES_RESERVE = 400

# A file up to this size is read on the event loop: from the page cache that takes
# microseconds, less than handing it to a worker thread and back. Larger files, and
# any file whose size cannot be read, go to a thread.
INLINE_READ_BYTES = 64 * 1024


def _open_regular(path: Path, shown: str, *, flags: int) -> tuple[int, os.stat_result]:
    """Open `path` without following a final symlink and check it is a regular file."""
    if not path.exists():
        raise ToolError(f"file not found: {shown}")
    if path.is_dir():
        raise ToolError(f"{shown} is a directory, not a file; use Glob to list its files")
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ToolError(f"cannot open {shown}: {exc.strerror or exc}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ToolError(f"{shown} is not a regular file (a device, socket or pipe)")
    return fd, info


def _require_fresh_read(path: Path, shown: str, ctx: ToolContext, *, verb: str) -> None:
    """Refuse to change an existing file that was not Read, or changed since it was."""
    recorded = ctx.read_files.get(path)
    if recorded is None:
        raise ToolError(f"{shown} has not been read in this session; Read it before you {verb} it")
    if path.stat().st_mtime_ns != recorded:
        raise ToolError(
            f"{shown} was modified on disk since you last read it; Read it again before you "
            f"{verb} it"
        )


def _write_bytes(path: Path, data: bytes, shown: str) -> int:
    """Write `data` to `path` (created or truncated) and return its new mtime_ns."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        return os.fstat(handle.fileno()).st_mtime_ns


def count_lines(text: str) -> int:
    """Number of lines in `text`, counting a last line without a newline."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


class ReadInput(ToolInput):
    """Arguments of `Read`."""

    file_path: str = Field(description=_FILE_PATH_HELP)
    offset: int | None = Field(
        default=None,
        ge=1,
        description="The line number to start reading from (1-based). Only give it for "
        "files too large to read at once.",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description=f"The number of lines to read (default {DEFAULT_READ_LIMIT}). Only give "
        "it for files too large to read at once.",
    )


class ReadTool:
    """Read a text file with `cat -n` style line numbers."""

    name: ClassVar[str] = "Read"
    description: ClassVar[str] = (
        "Reads a file from the workspace.\n\n"
        "Usage:\n"
        "- file_path may be absolute or relative to the workspace root; it must be inside "
        "the workspace.\n"
        f"- By default it reads up to {DEFAULT_READ_LIMIT} lines from the start of the file. "
        "For long files, use offset (1-based line number) and limit to read a part; the result "
        "says how to continue when lines remain.\n"
        f"- Lines longer than {MAX_LINE_CHARS} characters are truncated.\n"
        "- Results are numbered like `cat -n`: the line number, a tab, then the line. The "
        "number and tab are not part of the file: never copy them into Edit's old_string.\n"
        "- Binary files are not shown; you get their size. Directories cannot be read: use "
        "Glob to list files, or Bash `ls`.\n"
        "- You must Read a file before you Edit it or overwrite it with Write.\n"
        "- You can call several tools in one response: read several files at once when they "
        "are all useful."
    )
    input_model: ClassVar[type[BaseModel]] = ReadInput
    read_only: ClassVar[bool] = True

    async def run(self, args: ReadInput, ctx: ToolContext) -> str:
        """Read the file and record it as read in `ctx.read_files`."""
        path = resolve_in_workspace(args.file_path, ctx)
        shown = display_path(path, ctx)
        offset = args.offset or 1
        limit = args.limit or DEFAULT_READ_LIMIT
        budget = max(ctx.max_output_chars - _READ_NOTES_RESERVE, 1)
        if _small(path):
            window = self._read(path, shown, offset, limit, budget)
        else:
            window = await asyncio.to_thread(self._read, path, shown, offset, limit, budget)
        ctx.read_files[path] = window.mtime_ns
        return _render_window(window, shown, offset)

    @staticmethod
    def _read(path: Path, shown: str, offset: int, limit: int, budget: int) -> TextWindow:
        fd, info = _open_regular(path, shown, flags=os.O_RDONLY)
        with os.fdopen(fd, "rb") as handle:
            return read_window(handle, info, offset=offset, limit=limit, max_chars=budget)


def _small(path: Path) -> bool:
    """A small regular file (anything else is opened and refused in a thread)."""
    try:
        info = os.stat(path)
    except OSError:
        return False  # the read in a thread says what is wrong
    return stat.S_ISREG(info.st_mode) and info.st_size <= INLINE_READ_BYTES


def _render_window(window: TextWindow, shown: str, offset: int) -> str:
    if window.binary:
        return f"{shown} is a binary file ({human_size(window.size)}); its contents are not shown."
    if window.total_lines == 0:
        return f"{shown} is empty (0 bytes)."
    if not window.lines:
        return (
            f"{shown} has only {window.total_lines} lines; offset={offset} is past the end. "
            f"Use an offset between 1 and {window.total_lines}."
        )
    parts = [format_numbered(window.lines, first=offset)]
    last = offset + len(window.lines) - 1
    remaining = window.total_lines - last
    if remaining > 0:
        why = " (this result reached its size limit)" if window.budget_cut else ""
        parts.append(f"... {remaining} more lines{why}; use offset={last + 1} to read on")
    if window.replaced:
        parts.append("(note: this file is not valid UTF-8; undecodable bytes are shown as \ufffd)")
    return "\n".join(parts)


class WriteInput(ToolInput):
    """Arguments of `Write`."""

    file_path: str = Field(description=_FILE_PATH_HELP)
    content: str = Field(description="The complete new content of the file.")


class WriteTool:
    """Create a file or replace its whole content."""

    name: ClassVar[str] = "Write"
    description: ClassVar[str] = (
        "Writes a file in the workspace, creating it (and its parent directories) or "
        "replacing its whole content.\n\n"
        "Usage:\n"
        "- If the file already exists, you must Read it first in this session, or the write "
        "is refused; this keeps you from overwriting content you have not seen.\n"
        "- Prefer Edit for changing part of an existing file: it sends only the change.\n"
        "- You may only write the files your role allows; a refused write says which.\n"
        "- Do not create documentation or README files unless asked to."
    )
    input_model: ClassVar[type[BaseModel]] = WriteInput
    read_only: ClassVar[bool] = False

    async def run(self, args: WriteInput, ctx: ToolContext) -> str:
        """Write the file and record its new mtime as read."""
        path = resolve_in_workspace(args.file_path, ctx)
        check_writable(path, ctx, given=args.file_path)
        shown = display_path(path, ctx)
        existed = path.exists() or path.is_symlink()
        if existed:
            if path.is_dir():
                raise ToolError(f"{shown} is a directory; give the path of a file")
            _require_fresh_read(path, shown, ctx, verb="overwrite")
        data = args.content.encode("utf-8", errors="replace")
        ctx.read_files[path] = await asyncio.to_thread(_write_bytes, path, data, shown)
        lines = count_lines(args.content)
        action = "Overwrote" if existed else "Created"
        return f"{action} {shown} ({lines} lines, {len(data)} bytes)."


class EditInput(ToolInput):
    """Arguments of `Edit`."""

    file_path: str = Field(description=_FILE_PATH_HELP)
    old_string: str = Field(description="The exact text to replace.")
    new_string: str = Field(description="The text to replace it with (must differ).")
    replace_all: bool = Field(
        default=False,
        description="Replace every occurrence of old_string (default false: it must be unique).",
    )


@dataclass(frozen=True)
class _EditOutcome:
    text: str
    index: int
    new_string: str
    count: int


def _newline_style(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def _with_newlines(value: str, style: str) -> str:
    normalised = value.replace("\r\n", "\n")
    return normalised if style == "\n" else normalised.replace("\n", "\r\n")


def apply_edit(text: str, old: str, new: str, *, replace_all: bool) -> _EditOutcome:
    """Replace `old` with `new` in `text`, keeping the text's newline style.

    Raises:
        ToolError: When `old` is missing, or not unique without `replace_all`.
    """
    style = _newline_style(text)
    candidates = [(_with_newlines(old, style), _with_newlines(new, style)), (old, new)]
    for old_form, new_form in candidates:
        count = text.count(old_form)
        if count == 0:
            continue
        if count > 1 and not replace_all:
            raise ToolError(
                f"found {count} matches; add context to make it unique or set replace_all "
                "(old_string must match exactly one place)"
            )
        index = text.index(old_form)
        replaced = text.replace(old_form, new_form, -1 if replace_all else 1)
        return _EditOutcome(text=replaced, index=index, new_string=new_form, count=count)
    raise ToolError(
        "old_string was not found in the file; it must match exactly, including whitespace "
        "and indentation (Read the file again to check)"
    )


def _edit_snippet(outcome: _EditOutcome, *, context: int = 4) -> str:
    lines = outcome.text.split("\n")
    start = outcome.text.count("\n", 0, outcome.index)
    end = start + outcome.new_string.count("\n")
    first = max(0, start - context)
    last = min(len(lines), end + context + 1)
    shown = [line.removesuffix("\r") for line in lines[first:last]]
    return format_numbered(shown, first=first + 1)


class EditTool:
    """Exact string replacement in a file that was Read."""

    name: ClassVar[str] = "Edit"
    description: ClassVar[str] = (
        "Performs an exact string replacement in a file.\n\n"
        "Usage:\n"
        "- You must Read the file first in this session, and Read it again if it changed on "
        "disk since (for example after a Bash command rewrote it).\n"
        "- old_string must match the file exactly, including indentation. When copying from "
        "Read's output, leave out the line-number prefix (the number and the tab).\n"
        "- The edit fails if old_string is not unique in the file: add surrounding lines to "
        "make it unique, or set replace_all to change every occurrence (handy for renames).\n"
        "- new_string must differ from old_string. The file's newline style (LF or CRLF) is "
        "kept.\n"
        "- Use Write to create new files."
    )
    input_model: ClassVar[type[BaseModel]] = EditInput
    read_only: ClassVar[bool] = False

    async def run(self, args: EditInput, ctx: ToolContext) -> str:
        """Apply the replacement and return a numbered snippet of the edited region."""
        if not args.old_string:
            raise ToolError("old_string is empty; give the exact text to replace")
        if args.old_string == args.new_string:
            raise ToolError("old_string and new_string are identical; there is nothing to change")
        path = resolve_in_workspace(args.file_path, ctx)
        check_writable(path, ctx, given=args.file_path)
        shown = display_path(path, ctx)
        if not path.exists():
            raise ToolError(f"file not found: {shown}; use Write to create a new file")
        if path.is_dir():
            raise ToolError(f"{shown} is a directory, not a file")
        _require_fresh_read(path, shown, ctx, verb="edit")
        outcome, mtime = await asyncio.to_thread(self._edit, path, shown, args)
        ctx.read_files[path] = mtime
        times = "1 occurrence" if outcome.count == 1 else f"all {outcome.count} occurrences"
        where = "" if outcome.count == 1 else " (snippet around the first)"
        return (
            f"Edited {shown}: replaced {times}{where}. The edited region now reads:\n"
            f"{_edit_snippet(outcome)}"
        )

    @staticmethod
    def _edit(path: Path, shown: str, args: EditInput) -> tuple[_EditOutcome, int]:
        fd, _ = _open_regular(path, shown, flags=os.O_RDONLY)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
        if is_binary(data):
            raise ToolError(f"{shown} is a binary file; Edit works on text files only")
        text = data.decode("utf-8", errors="surrogateescape")
        outcome = apply_edit(text, args.old_string, args.new_string, replace_all=args.replace_all)
        try:
            encoded = outcome.text.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError as exc:
            raise ToolError(
                f"new_string contains characters that cannot be encoded: {exc}"
            ) from exc
        return outcome, _write_bytes(path, encoded, shown)
