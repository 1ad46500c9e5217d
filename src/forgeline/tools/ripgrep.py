"""Running the `rg` binary: argument building and streamed, capped output reading.

ripgrep runs as a subprocess with an argument list (never a shell), in the workspace
root, so the paths it prints are relative to the workspace. Its output is read line by
line and the process is stopped as soon as enough has been read.

What is searched (DESIGN §4): `.gitignore` rules of the workspace's own directories and
each repository's `info/exclude` apply, rules from directories above the workspace never
do, Forgeline's own files (the workspace's `.forgeline/`) and `.git` are never listed,
and symlinks are not followed. To
apply the rules of the directories between the root and a searched sub-directory exactly
as git would, ripgrep always walks from the root, and `scope_globs` excludes everything
beside the path down to the sub-directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from forgeline.domain.errors import ToolError
from forgeline.tools.gitexcludes import ignore_file_args

# Most file paths kept in files_with_matches mode (they are sorted by mtime afterwards).
MAX_LISTED_FILES = 100_000
# Longest matching line shown, in bytes; longer ones are shown as a preview.
MAX_COLUMNS = 1000
_STREAM_LIMIT = 1 << 20
_READ_CHUNK = 1 << 16
FORGELINE_DIR = ".forgeline"
"""Forgeline's own directory at the workspace root: never searched or listed."""
BASE_ARGS = ("--no-config", "--no-require-git", "--no-ignore-parent", "--hidden")
EXCLUDED_GLOBS = ("--glob=!.git", f"--glob=!/{FORGELINE_DIR}")
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]{}!\s])")
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
        scope: Globs from `scope_globs` limiting the walk to one sub-directory.
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
    scope: tuple[str, ...] = ()


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
    args = [*BASE_ARGS, "--color=never"]
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
    args += [*EXCLUDED_GLOBS, *query.scope, "--", query.pattern]
    if query.target is not None:
        args.append(query.target)
    return args


def files_args(*, scope: Sequence[str], max_depth: int | None) -> list[str]:
    """The command line listing every file ripgrep would search (`rg --files`)."""
    depth = [] if max_depth is None else [f"--max-depth={max_depth}"]
    return ["--files", *BASE_ARGS, *depth, *EXCLUDED_GLOBS, *scope]


def is_forgeline_path(root: Path, path: Path) -> bool:
    """Whether the resolved `path` is Forgeline's own directory of `root`, or inside it."""
    return path.is_relative_to(root / FORGELINE_DIR)


def scope_globs(root: Path, directory: Path) -> list[str]:
    """Globs that leave only `directory` (resolved, inside `root`) to a walk from `root`.

    At each level between the root and the directory every other entry is excluded, so
    the ignore files on the way still apply to what lies below.
    """
    globs: list[str] = []
    level = root
    for part in directory.relative_to(root).parts:
        anchor = "/" + level.relative_to(root).as_posix() if level != root else ""
        for name in _entries(level):
            if name != part:
                globs.append(f"--glob=!{anchor}/{_escape_glob(name)}")
        level = level / part
    return globs


def _entries(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def _escape_glob(name: str) -> str:
    return _GLOB_SPECIAL.sub(r"\\\1", name)


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
    return await _run(build_args(query), cwd=cwd, line_cap=line_cap, char_cap=char_cap)


async def list_files(
    *, cwd: Path, scope: Sequence[str], max_depth: int | None, keep: Callable[[str], bool]
) -> RipgrepOutput:
    """The files ripgrep would search from `cwd` whose path `keep` accepts (at most
    `MAX_LISTED_FILES` of them).

    Raises:
        ToolError: When ripgrep fails (exit code 2) without listing any file.
    """
    args = files_args(scope=scope, max_depth=max_depth)
    return await _run(args, cwd=cwd, line_cap=MAX_LISTED_FILES, char_cap=None, keep=keep)


async def _run(
    args: list[str],
    *,
    cwd: Path,
    line_cap: int | None,
    char_cap: int | None,
    keep: Callable[[str], bool] | None = None,
) -> RipgrepOutput:
    with ignore_file_args(cwd) as excludes:
        return await _run_rg([*excludes, *args], cwd, line_cap, char_cap, keep)


async def _run_rg(
    args: list[str],
    cwd: Path,
    line_cap: int | None,
    char_cap: int | None,
    keep: Callable[[str], bool] | None,
) -> RipgrepOutput:
    proc = await asyncio.create_subprocess_exec(
        find_rg(),
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_STREAM_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    try:
        lines, truncated = await _read_lines(proc.stdout, line_cap, char_cap, keep)
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
    stream: asyncio.StreamReader,
    line_cap: int | None,
    char_cap: int | None,
    keep: Callable[[str], bool] | None,
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
            if keep is not None and not keep(line):
                continue
            if _over(len(lines), size + len(line), line_cap, char_cap):
                return lines, True
            lines.append(line)
            size += len(line) + 1
    if pending:
        line = pending.decode("utf-8", errors="replace")
        if keep is not None and not keep(line):
            return lines, False
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
