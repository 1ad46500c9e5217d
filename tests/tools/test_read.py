"""The Read tool on real files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext
from forgeline.tools.files import ReadTool

from .helpers import run_tool, write


async def read(ctx: ToolContext, path: str, **options: int) -> str:
    return await run_tool(ReadTool(), ctx, file_path=path, **options)


async def test_lines_are_numbered_like_cat_n(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "a.txt", "alpha\n  beta\n\tgamma\n")
    assert await read(ctx, "a.txt") == "     1\talpha\n     2\t  beta\n     3\t\tgamma"


async def test_last_line_without_newline_and_crlf(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "crlf.txt", "one\r\ntwo\r\nthree")
    assert await read(ctx, "crlf.txt") == "     1\tone\n     2\ttwo\n     3\tthree"


async def test_offset_and_limit(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "ten.txt", "".join(f"line {n}\n" for n in range(1, 11)))
    out = await read(ctx, "ten.txt", offset=3, limit=2)
    assert out.splitlines() == [
        "     3\tline 3",
        "     4\tline 4",
        "... 6 more lines; use offset=5 to read on",
    ]
    tail = await read(ctx, "ten.txt", offset=9)
    assert tail.splitlines() == ["     9\tline 9", "    10\tline 10"]


async def test_offset_past_the_end(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "short.txt", "a\nb\n")
    out = await read(ctx, "short.txt", offset=5)
    assert "has only 2 lines" in out
    assert "offset=5 is past the end" in out


async def test_default_limit_is_2000_lines(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "long.txt", "".join(f"{n}\n" for n in range(1, 2501)))
    lines = (await read(ctx, "long.txt")).splitlines()
    assert lines[0] == "     1\t1"
    assert lines[1999] == "  2000\t2000"
    assert lines[2000] == "... 500 more lines; use offset=2001 to read on"
    assert len(lines) == 2001


async def test_long_lines_are_truncated_with_a_marker(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "wide.txt", "é" * 5000 + "\nshort\n")
    first, second = (await read(ctx, "wide.txt")).splitlines()
    assert first.startswith("     1\t" + "é" * 2000 + " … [line truncated at 2000 characters]")
    assert "é" * 2001 not in first
    assert second == "     2\tshort"


async def test_one_enormous_line_is_cut_without_reading_it_whole(
    workspace: Path, ctx: ToolContext
) -> None:
    write(workspace / "min.js", b"x" * 5_000_000 + b"\nend\n")
    lines = (await read(ctx, "min.js")).splitlines()
    assert lines[0].endswith("[line truncated at 2000 characters]")
    assert len(lines[0]) < 2100
    assert lines[1] == "     2\tend"


async def test_binary_file_is_described_not_shown(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "img.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    out = await read(ctx, "img.png")
    assert "binary file" in out
    assert "2.0 KiB" in out
    assert "IHDR" not in out


async def test_non_utf8_text_is_decoded_with_a_note(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "latin1.txt", "café\nok\n".encode("latin-1"))
    out = await read(ctx, "latin1.txt")
    assert out.startswith("     1\tcaf\ufffd\n     2\tok\n")
    assert "not valid UTF-8" in out


async def test_empty_file(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "empty.txt", "")
    assert "is empty" in await read(ctx, "empty.txt")
    assert workspace / "empty.txt" in ctx.read_files


async def test_huge_file_window_is_fast_and_counts_lines(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "huge.log", "".join(f"entry {n}\n" for n in range(1, 300_001)))
    started = time.monotonic()
    head = await read(ctx, "huge.log", limit=3)
    assert head.splitlines()[-1] == "... 299997 more lines; use offset=4 to read on"
    end = await read(ctx, "huge.log", offset=299_999)
    assert end.splitlines() == ["299999\tentry 299999", "300000\tentry 300000"]
    assert time.monotonic() - started < 5


async def test_directory_and_missing_file_are_errors(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "src").mkdir()
    with pytest.raises(ToolError, match=r"is a directory.*Glob"):
        await read(ctx, "src")
    with pytest.raises(ToolError, match=r"file not found: nope\.txt"):
        await read(ctx, "nope.txt")


async def test_fifo_is_refused_without_blocking(workspace: Path, ctx: ToolContext) -> None:
    os.mkfifo(workspace / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        await read(ctx, "pipe")


async def test_read_records_the_mtime(workspace: Path, ctx: ToolContext) -> None:
    path = write(workspace / "a.txt", "x\n")
    await read(ctx, "a.txt")
    assert ctx.read_files[path] == path.stat().st_mtime_ns
