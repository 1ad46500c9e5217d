"""Write and Edit on real files: read-before-write, staleness, uniqueness, newlines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext
from forgeline.tools.files import EditTool, ReadTool, WriteTool

from .helpers import run_tool, write


async def test_write_creates_file_and_parent_dirs(workspace: Path, ctx: ToolContext) -> None:
    out = await run_tool(WriteTool(), ctx, file_path="pkg/sub/new.py", content="a = 1\nb = 2\n")
    path = workspace / "pkg" / "sub" / "new.py"
    assert path.read_text() == "a = 1\nb = 2\n"
    assert out == "Created pkg/sub/new.py (2 lines, 12 bytes)."
    assert ctx.read_files[path] == path.stat().st_mtime_ns


async def test_write_existing_file_requires_read(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "keep.txt", "precious\n")
    with pytest.raises(ToolError, match="Read it before you overwrite it"):
        await run_tool(WriteTool(), ctx, file_path="keep.txt", content="gone")
    assert path.read_text() == "precious\n"
    await run_tool(ReadTool(), ctx, file_path="keep.txt")
    out = await run_tool(WriteTool(), ctx, file_path="keep.txt", content="new\n")
    assert out.startswith("Overwrote keep.txt")
    assert path.read_text() == "new\n"


async def test_write_after_own_write_needs_no_read(workspace: Path, ctx: ToolContext) -> None:
    await run_tool(WriteTool(), ctx, file_path="notes.md", content="one\n")
    await run_tool(WriteTool(), ctx, file_path="notes.md", content="two\n")
    assert (workspace / "notes.md").read_text() == "two\n"


async def test_write_refuses_a_file_changed_since_read(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "a.txt", "v1\n", mtime=1_000_000)
    await run_tool(ReadTool(), ctx, file_path="a.txt")
    write(path, "v2 by someone else\n", mtime=2_000_000)
    with pytest.raises(ToolError, match="modified on disk since you last read it"):
        await run_tool(WriteTool(), ctx, file_path="a.txt", content="v3\n")
    assert path.read_text() == "v2 by someone else\n"


async def test_write_to_a_directory_is_an_error(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "dir").mkdir()
    with pytest.raises(ToolError, match="is a directory"):
        await run_tool(WriteTool(), ctx, file_path="dir", content="x")


async def edit(ctx: ToolContext, path: str, old: str, new: str, **options: bool) -> str:
    return await run_tool(
        EditTool(), ctx, file_path=path, old_string=old, new_string=new, **options
    )


async def test_edit_replaces_a_unique_string_and_shows_a_snippet(
    workspace: Path, ctx: ToolContext
) -> None:
    lines = [f"line {n}" for n in range(1, 21)]
    path = write(workspace / "f.py", "\n".join(lines) + "\n")
    await run_tool(ReadTool(), ctx, file_path="f.py")
    out = await edit(ctx, "f.py", "line 10\n", "line ten\nline ten and a half\n")
    assert path.read_text().splitlines()[9:11] == ["line ten", "line ten and a half"]
    assert out.startswith("Edited f.py: replaced 1 occurrence.")
    assert "    10\tline ten\n    11\tline ten and a half\n    12\tline 11" in out
    assert "     6\tline 6" in out
    assert "     5\tline 5" not in out
    # The file's new mtime is recorded: a second edit needs no new Read.
    await edit(ctx, "f.py", "line 11", "line eleven")
    assert "line eleven" in path.read_text()


async def test_edit_not_unique_without_replace_all(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "dup.txt", "foo\nbar\nfoo\nfoo\n")
    await run_tool(ReadTool(), ctx, file_path="dup.txt")
    with pytest.raises(ToolError, match="found 3 matches; add context to make it unique or set"):
        await edit(ctx, "dup.txt", "foo", "baz")
    assert path.read_text() == "foo\nbar\nfoo\nfoo\n"
    out = await edit(ctx, "dup.txt", "foo", "baz", replace_all=True)
    assert "all 3 occurrences" in out
    assert path.read_text() == "baz\nbar\nbaz\nbaz\n"


async def test_edit_requires_read_and_fresh_content(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "a.txt", "hello\n", mtime=1_000_000)
    with pytest.raises(ToolError, match="has not been read"):
        await edit(ctx, "a.txt", "hello", "bye")
    await run_tool(ReadTool(), ctx, file_path="a.txt")
    os.utime(path, (2_000_000, 2_000_000))
    with pytest.raises(ToolError, match="Read it again"):
        await edit(ctx, "a.txt", "hello", "bye")
    assert path.read_text() == "hello\n"


async def test_edit_errors(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "a.txt", "hello\n")
    await run_tool(ReadTool(), ctx, file_path="a.txt")
    with pytest.raises(ToolError, match="old_string was not found"):
        await edit(ctx, "a.txt", "goodbye", "x")
    with pytest.raises(ToolError, match="identical"):
        await edit(ctx, "a.txt", "hello", "hello")
    with pytest.raises(ToolError, match="old_string is empty"):
        await edit(ctx, "a.txt", "", "x")
    with pytest.raises(ToolError, match=r"file not found: b\.txt; use Write"):
        await edit(ctx, "b.txt", "x", "y")


async def test_edit_preserves_crlf_newlines(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "win.txt", b"first\r\nsecond\r\nthird\r\n")
    await run_tool(ReadTool(), ctx, file_path="win.txt")
    await edit(ctx, "win.txt", "first\nsecond", "one\ntwo\nmore")
    assert path.read_bytes() == b"one\r\ntwo\r\nmore\r\nthird\r\n"


async def test_edit_keeps_undecodable_bytes(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "latin.txt", b"caf\xe9\nhello\n")
    await run_tool(ReadTool(), ctx, file_path="latin.txt")
    await edit(ctx, "latin.txt", "hello", "bye")
    assert path.read_bytes() == b"caf\xe9\nbye\n"


async def test_edit_refuses_binary_files(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "blob.bin", b"abc\x00def")
    await run_tool(ReadTool(), ctx, file_path="blob.bin")
    with pytest.raises(ToolError, match="binary"):
        await edit(ctx, "blob.bin", "abc", "xyz")


async def test_edit_keeps_file_mode(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "run.sh", "#!/bin/sh\necho hi\n")
    path.chmod(0o755)
    await run_tool(ReadTool(), ctx, file_path="run.sh")
    await edit(ctx, "run.sh", "hi", "hello")
    assert path.stat().st_mode & 0o777 == 0o755
