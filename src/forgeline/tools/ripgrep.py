"""Running the `rg` binary: argument building and streamed, capped output reading.

ripgrep runs as a subprocess with an argument list (never a shell), in the workspace
root, so the paths it prints are relative to the workspace. Its output is read line by
line and the process is stopped as soon as enough has been read.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from forgeline.domain.errors import ToolError

# Most file paths kept in files_with_matches mode (they are sorted by mtime afterwards).
MAX_LISTED_FILES = 100_000
# Longest matching line shown, in bytes; longer ones are shown as a preview.
MAX_COLUMNS = 1000
_STREAM_LIMIT = 1 << 20
_READ_CHUNK = 1 << 16
_NOTHING_SEARCHED = (
    "no files were searched: the path, glob and type filters and the ignore rules left none"
)


@dataclass(frozen=True)
class RipgrepQuery:
    """One search, in terms of ripgrep's options.

    Attributes:
        pattern: The regex.
        target: File or directory to search, relative to the workspace; None for all of it.
        glob: Glob filters (whitespace-separated), or None.
        mode: "content", "files_with_matches" or "count".
        ignore_case: rg -i.
        line_numbers: rg -n (content mode).
        context: rg -C (content mode).
        before: rg -B (content mode).
        after: rg -A (content mode).
        file_type: rg --type.
        multiline: rg -U --multiline-dotall.
    """

    pattern: str
    target: str | None = None
    glob: str | None = None
    mode: str = "files_with_matches"
    ignore_case: bool = False
    line_numbers: bool = True
    context: int | None = None
    before: int | None = None
    after: int | None = None
    file_type: str | None = None
    multiline: bool = False


@dataclass(frozen=True)
class RipgrepOutput:
    """What a search printed.

    Attributes:
        lines: Output lines, in ripgrep's order.
        truncated: True when reading stopped before ripgrep finished.
        warning: The start of ripgrep's error output when it failed on some files.
    """

    lines: list[str]
    truncated: bool
    warning: str | None


def find_rg() -> str:
    """The `rg` executable: next to the running Python first (the venv), then on PATH.

    Raises:
        ToolError: When ripgrep is not installed.
    """
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file():
        return str(beside)
    found = shutil.which("rg")
    if found is None:
        raise ToolError("ripgrep (rg) is not installed; Grep cannot run")
    return found


def build_args(query: RipgrepQuery) -> list[str]:
    """The ripgrep command line for `query` (without the executable)."""
    args = ["--no-config", "--no-require-git", "--hidden", "--color=never"]
    if query.mode == "files_with_matches":
        args.append("--files-with-matches")
    elif query.mode == "count":
        args += ["--count", "--with-filename"]
    else:
        args += ["--with-filename", "--no-heading", f"--max-columns={MAX_COLUMNS}"]
        args += ["--max-columns-preview", "--line-number" if query.line_numbers else "-N"]
        for flag, value in (("-C", query.context), ("-B", query.before), ("-A", query.after)):
            if value is not None:
                args += [flag, str(value)]
    if query.ignore_case:
        args.append("--ignore-case")
    if query.multiline:
        args += ["--multiline", "--multiline-dotall"]
    if query.file_type:
        args.append(f"--type={query.file_type}")
    args += [f"--glob={glob}" for glob in (query.glob or "").split()]
    args += ["--glob=!.git", "--", query.pattern]
    if query.target is not None:
        args.append(query.target)
    return args


async def run_ripgrep(
    query: RipgrepQuery, *, cwd: Path, head_limit: int | None, max_chars: int
) -> RipgrepOutput:
    """Run ripgrep in `cwd` and read its output, stopping early when enough was read.

    In content and count modes reading stops after `head_limit` lines or `max_chars`
    characters; in files_with_matches mode every path is read (up to
    `MAX_LISTED_FILES`) because the caller sorts them.

    Raises:
        ToolError: When ripgrep fails (exit code 2) without printing any result.
    """
    listing = query.mode == "files_with_matches"
    line_cap = MAX_LISTED_FILES if listing else head_limit
    char_cap = None if listing else max_chars
    proc = await asyncio.create_subprocess_exec(
        find_rg(),
        *build_args(query),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_STREAM_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    try:
        lines, truncated = await _read_lines(proc.stdout, line_cap, char_cap)
        if truncated:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.stdout.read()
        code = await proc.wait()
        stderr = (await errors).decode("utf-8", errors="replace").strip()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if not errors.done():
            errors.cancel()
    return _outcome(lines, truncated, code, stderr)


async def _read_lines(
    stream: asyncio.StreamReader, line_cap: int | None, char_cap: int | None
) -> tuple[list[str], bool]:
    """Read output lines in large chunks until EOF or a cap; True when a cap stopped it."""
    lines: list[str] = []
    size = 0
    pending = b""
    while True:
        chunk = await stream.read(_READ_CHUNK)
        if not chunk:
            break
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", errors="replace").removesuffix("\r")
            if _over(len(lines), size + len(line), line_cap, char_cap):
                return lines, True
            lines.append(line)
            size += len(line) + 1
    if pending:
        line = pending.decode("utf-8", errors="replace")
        if _over(len(lines), size + len(line), line_cap, char_cap):
            return lines, True
        lines.append(line)
    return lines, False


def _over(count: int, size: int, line_cap: int | None, char_cap: int | None) -> bool:
    return (line_cap is not None and count >= line_cap) or (
        char_cap is not None and size > char_cap
    )


def _outcome(lines: list[str], truncated: bool, code: int, stderr: str) -> RipgrepOutput:
    warning = "; ".join(line for line in stderr.splitlines()[:3] if line) or None
    if code == 2 and "No files were searched" in stderr:
        return RipgrepOutput(lines=[], truncated=False, warning=_NOTHING_SEARCHED)
    if code == 2 and not lines and not truncated:
        raise ToolError(f"ripgrep failed: {stderr or 'exit code 2'}")
    return RipgrepOutput(lines=lines, truncated=truncated, warning=warning)
