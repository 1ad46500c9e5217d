"""The search tools: Glob (file names) and Grep (file contents, through ripgrep)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext, ToolInput
from forgeline.tools.globbing import GlobMatcher, compile_glob
from forgeline.tools.paths import display_path, resolve_in_workspace, workspace_root
from forgeline.tools.ripgrep import (
    FORGELINE_DIR,
    RipgrepQuery,
    is_forgeline_path,
    list_files,
    run_ripgrep,
    scope_globs,
)

GLOB_MAX_RESULTS = 1000


class GlobInput(ToolInput):
    """Arguments of `Glob`."""

    pattern: str = Field(
        description='The glob pattern to match files against, e.g. "**/*.py" or '
        '"src/**/*.{ts,tsx}".'
    )
    path: str | None = Field(
        default=None,
        description="The directory to search in, absolute or relative to the workspace root. "
        "Omit it to search the whole workspace.",
    )


def _mtime(path: str) -> int:
    try:
        return os.lstat(path).st_mtime_ns
    except OSError:
        return 0


def newest_first(paths: list[str], *, root: str) -> list[str]:
    """`paths` (relative to `root`) sorted by modification time, newest first, then by name."""
    stamped = [(-_mtime(os.path.join(root, path)), path) for path in paths]
    stamped.sort()
    return [path for _, path in stamped]


def _split_absolute_pattern(pattern: str) -> tuple[str | None, str]:
    """Turn an absolute pattern into (literal directory, relative pattern)."""
    if not pattern.startswith("/"):
        return None, pattern
    parts = pattern.split("/")
    literal: list[str] = []
    for part in parts[:-1]:
        if any(char in part for char in "*?[{"):
            break
        literal.append(part)
    return "/".join(literal) or "/", "/".join(parts[len(literal) :])


class GlobTool:
    """Find files by name pattern, newest first."""

    name: ClassVar[str] = "Glob"
    description: ClassVar[str] = (
        "Fast file pattern matching over the workspace.\n\n"
        '- Supports glob patterns like "**/*.js" or "src/**/*.{ts,tsx}": `*` matches within '
        "one path segment, `**` matches any number of directories, `{a,b}` gives "
        "alternatives.\n"
        "- Returns matching file paths (not directories), relative to the workspace root, "
        "sorted by modification time, newest first.\n"
        f"- At most {GLOB_MAX_RESULTS} results are returned; narrow the pattern or path if "
        "you hit the cap.\n"
        "- Files ignored by .gitignore, .git directories and symlinks are skipped; hidden files "
        "are listed.\n"
        "- Use it to find files by name; use Grep to search their contents."
    )
    input_model: ClassVar[type[BaseModel]] = GlobInput
    read_only: ClassVar[bool] = True

    async def run(self, args: GlobInput, ctx: ToolContext) -> str:
        """List the matching files, newest first."""
        directory, pattern = _split_absolute_pattern(args.pattern)
        if directory is not None and args.path is not None:
            raise ToolError("give either an absolute pattern or a path, not both")
        base = resolve_in_workspace(directory or args.path or ".", ctx)
        if not base.is_dir():
            raise ToolError(f"{display_path(base, ctx)} is not a directory")
        refuse_forgeline_path(base, ctx)
        try:
            matcher = compile_glob(pattern)
        except ValueError as exc:
            raise ToolError(f"invalid pattern {args.pattern!r}: {exc}") from exc
        found = await _glob_files(workspace_root(ctx), base.joinpath(*matcher.prefix), matcher)
        if not found:
            return "No files found"
        shown = found[:GLOB_MAX_RESULTS]
        if len(found) > GLOB_MAX_RESULTS:
            shown.append(
                f"(showing the {GLOB_MAX_RESULTS} newest of {len(found)} matching files; "
                "use a narrower pattern or path to see the others)"
            )
        return "\n".join(shown)


async def _glob_files(root: Path, start: Path, matcher: GlobMatcher) -> list[str]:
    """Files under `start` matching `matcher`, newest first, relative to `root`."""
    directory = _searchable(root, start)
    if directory is None:
        return []
    chain = directory.relative_to(root).parts
    skip = len(directory.relative_to(root).as_posix()) + 1 if chain else 0
    depth = None if matcher.max_depth is None else len(chain) + matcher.max_depth + 1
    output = await list_files(
        cwd=root,
        scope=scope_globs(root, directory),
        max_depth=depth,
        keep=lambda line: matcher.regex.match(line[skip:]) is not None,
    )
    return await asyncio.to_thread(newest_first, output.lines, root=str(root))


def _searchable(root: Path, start: Path) -> Path | None:
    """`start` resolved, or None when it is no directory, or resolves outside the workspace
    (through a symlinked directory) or into Forgeline's own files."""
    start = start.resolve()
    if not start.is_dir() or not start.is_relative_to(root) or is_forgeline_path(root, start):
        return None
    return start


def refuse_forgeline_path(path: Path, ctx: ToolContext) -> None:
    """Refuse to search Forgeline's own files (the workspace's `.forgeline/`).

    Raises:
        ToolError: `path` is that directory or inside it.
    """
    if is_forgeline_path(workspace_root(ctx), path):
        raise ToolError(
            f"{display_path(path, ctx)} holds Forgeline's own files ({FORGELINE_DIR}/), "
            "which are not searched"
        )


OutputMode = Literal["content", "files_with_matches", "count"]


class GrepInput(ToolInput):
    """Arguments of `Grep` (ripgrep's flag names, as the model knows them)."""

    pattern: str = Field(description="The regular expression to search for (Rust regex syntax).")
    path: str | None = Field(
        default=None,
        description="File or directory to search in, absolute or relative to the workspace "
        "root. Defaults to the whole workspace.",
    )
    glob: str | None = Field(
        default=None,
        description='Only search files matching this glob, e.g. "*.js" or "*.{ts,tsx}" '
        "(rg --glob).",
    )
    output_mode: OutputMode = Field(
        default="files_with_matches",
        description='"content" shows matching lines, "files_with_matches" lists files '
        '(the default), "count" shows match counts per file.',
    )
    ignore_case: bool | None = Field(
        default=None, alias="-i", description="Case-insensitive search (rg -i)."
    )
    line_numbers: bool | None = Field(
        default=None,
        alias="-n",
        description='Show line numbers (rg -n); output_mode "content" only. Defaults to true.',
    )
    context: int | None = Field(
        default=None,
        ge=0,
        alias="-C",
        description="Lines of context before and after each match (rg -C); output_mode "
        '"content" only.',
    )
    before: int | None = Field(
        default=None,
        ge=0,
        alias="-B",
        description='Lines of context before each match (rg -B); output_mode "content" only.',
    )
    after: int | None = Field(
        default=None,
        ge=0,
        alias="-A",
        description='Lines of context after each match (rg -A); output_mode "content" only.',
    )
    head_limit: int | None = Field(
        default=None,
        ge=1,
        description="Return only the first N lines / files / counts of the output.",
    )
    file_type: str | None = Field(
        default=None,
        alias="type",
        description='File type to search (rg --type), e.g. "py", "js", "rust". More efficient '
        "than glob for standard types.",
    )
    multiline: bool | None = Field(
        default=None,
        description="Let patterns span lines and `.` match newlines (rg -U --multiline-dotall).",
    )


class GrepTool:
    """Search file contents with ripgrep."""

    name: ClassVar[str] = "Grep"
    description: ClassVar[str] = (
        "A powerful search tool built on ripgrep.\n\n"
        "Usage:\n"
        "- Always use Grep for searching file contents; do not run grep or rg through Bash.\n"
        '- Full regex syntax (e.g. "log.*Error", "function\\s+\\w+"). Literal braces and '
        'other metacharacters need escaping: use "interface\\{\\}" to find "interface{}".\n'
        '- Filter files with glob (e.g. "*.js", "**/*.tsx") or type (e.g. "py", "rust").\n'
        '- output_mode: "files_with_matches" (default) lists files, newest first; "content" '
        'shows matching lines (with -n line numbers, -C/-A/-B context); "count" shows match '
        "counts per file.\n"
        "- Files ignored by .gitignore and .git directories are skipped; hidden files are "
        "searched.\n"
        "- Patterns match within single lines unless multiline is true.\n"
        "- Use head_limit to keep large results short."
    )
    input_model: ClassVar[type[BaseModel]] = GrepInput
    read_only: ClassVar[bool] = True

    async def run(self, args: GrepInput, ctx: ToolContext) -> str:
        """Run ripgrep and format its output."""
        root = workspace_root(ctx)
        target = resolve_in_workspace(args.path, ctx) if args.path else root
        if not target.exists():
            raise ToolError(f"path not found: {display_path(target, ctx)}")
        refuse_forgeline_path(target, ctx)
        output = await run_ripgrep(
            _query(args, root, target),
            cwd=workspace_root(ctx),
            head_limit=args.head_limit,
            max_chars=ctx.max_output_chars,
        )
        if not output.lines:
            note = f"\n({output.warning})" if output.warning else ""
            return "No matches found" + note
        if args.output_mode != "files_with_matches":
            return _finish(output.lines, output.truncated, args, output.warning)
        ordered = await asyncio.to_thread(newest_first, output.lines, root=str(root))
        kept = _apply_limit(ordered, args.head_limit, ctx.max_output_chars)
        noun = "file" if len(ordered) == 1 else "files"
        body = [f"Found {len(ordered)} {noun}", *kept]
        cut = output.truncated or len(kept) < len(ordered)
        return _finish(body, cut, args, output.warning)


def _query(args: GrepInput, root: Path, target: Path) -> RipgrepQuery:
    """The search; a directory below the root is searched from the root (see `scope_globs`)."""
    is_file = not target.is_dir()
    return RipgrepQuery(
        pattern=args.pattern,
        target=target.relative_to(root).as_posix() if is_file else None,
        scope=() if is_file else tuple(scope_globs(root, target)),
        glob=args.glob,
        mode=args.output_mode,
        ignore_case=bool(args.ignore_case),
        line_numbers=args.line_numbers is not False,
        context=args.context,
        before=args.before,
        after=args.after,
        file_type=args.file_type,
        multiline=bool(args.multiline),
    )


def _apply_limit(lines: list[str], head_limit: int | None, max_chars: int) -> list[str]:
    kept: list[str] = []
    size = 0
    for line in lines:
        if (head_limit is not None and len(kept) >= head_limit) or size + len(line) > max_chars:
            break
        kept.append(line)
        size += len(line) + 1
    return kept


def _finish(lines: list[str], truncated: bool, args: GrepInput, warning: str | None) -> str:
    parts = list(lines)
    if args.output_mode == "count":
        total = sum(_count_of(line) for line in lines)
        unit = "file" if len(lines) == 1 else "files"
        parts.append(f"\nFound {total} matches in {len(lines)} {unit}")
    if truncated:
        limit = f"head_limit={args.head_limit}" if args.head_limit else "the output size cap"
        parts.append(f"(results cut at {limit}; more results were not shown)")
    if warning:
        parts.append(f"(rg reported errors on some files: {warning})")
    return "\n".join(parts)


def _count_of(line: str) -> int:
    count = line.rpartition(":")[2]
    return int(count) if count.isdigit() else 0
