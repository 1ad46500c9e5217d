"""The Read tool on real files."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import sqlalchemy.orm.session

from forgeline.domain.errors import ToolError
from forgeline.domain.messages import ToolCall
from forgeline.tools.base import ToolContext
from forgeline.tools.files import ReadTool
from forgeline.tools.registry import execute

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


_NUMBERED = re.compile(r" *(\d+)\t(.*)")
_CONTINUE = re.compile(r"^\.\.\. \d+ more lines.*; use offset=(\d+) to read on$", re.M)


async def _read_page(ctx: ToolContext, path: str, offset: int) -> tuple[list[str], int | None]:
    """One Read through the registry (as the loop runs it); its lines and next offset."""
    call = ToolCall(id="c", name="Read", input={"file_path": path, "offset": offset})
    result = await execute(call, ctx, allowed=["Read"])
    assert not result.is_error, result.content
    assert len(result.content) <= ctx.max_output_chars
    assert "characters cut" not in result.content
    lines = []
    for expected, row in enumerate(result.content.splitlines(), start=offset):
        match = _NUMBERED.fullmatch(row)
        if match is None:
            break
        assert int(match[1]) == expected
        lines.append(match[2])
    follow = _CONTINUE.search(result.content)
    return lines, int(follow[1]) if follow else None


async def test_a_large_real_module_reads_back_exactly_page_by_page(
    workspace: Path, ctx: ToolContext
) -> None:
    original = Path(sqlalchemy.orm.session.__file__).read_text(encoding="utf-8")
    assert len(original) > 150_000 and original.count("\n") > 5000
    write(workspace / "session.py", original)
    pages: list[list[str]] = []
    offset: int | None = 1
    while offset is not None:
        lines, next_offset = await _read_page(ctx, "session.py", offset)
        assert lines, f"empty page at offset {offset}"
        assert next_offset is None or next_offset == offset + len(lines)
        pages.append(lines)
        offset = next_offset
    assert len(pages) > 5
    assert "\n".join(line for page in pages for line in page) + "\n" == original


async def test_a_page_cut_for_size_says_so_and_ends_at_a_whole_line(
    workspace: Path, ctx: ToolContext
) -> None:
    ctx.max_output_chars = 2_000
    write(workspace / "wide.txt", "".join(f"{n:04d} " + "x" * 95 + "\n" for n in range(1, 101)))
    out = await read(ctx, "wide.txt")
    *rows, note = out.splitlines()
    assert 5 < len(rows) < 20
    assert rows[-1] == f"{len(rows):>6}\t{len(rows):04d} " + "x" * 95
    assert note == (
        f"... {100 - len(rows)} more lines (this result reached its size limit); "
        f"use offset={len(rows) + 1} to read on"
    )
