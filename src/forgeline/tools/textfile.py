"""Reading a window of lines from a text file without loading all of it.

Used by `Read`: a file of any size is read line by line up to the requested window,
each line capped in bytes so one enormous line cannot exhaust memory, and the lines
after the window are only counted, in large chunks. A window also stops, at a whole
line, before its numbered rendering would exceed a character budget, so a result is
never cut in the middle later on.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE_CHARS = 2000
DEFAULT_READ_LIMIT = 2000
BINARY_PROBE_BYTES = 8192
# Enough bytes for MAX_LINE_CHARS characters of any UTF-8 text, plus one to detect overflow.
_LINE_BYTE_CAP = MAX_LINE_CHARS * 4 + 1
_CHUNK = 1 << 20
TRUNCATION_MARKER = f" … [line truncated at {MAX_LINE_CHARS} characters]"


@dataclass(frozen=True)
class TextWindow:
    """A window of decoded lines and what is known about the whole file.

    Attributes:
        lines: The decoded lines of the window, without newlines, long ones truncated.
        total_lines: Number of lines in the whole file.
        size: File size in bytes.
        mtime_ns: The file's modification time when it was read.
        binary: True when the file looks binary (a NUL byte near the start).
        replaced: True when some bytes of the window were not valid UTF-8.
        budget_cut: True when the window stopped early to stay within its character budget.
    """

    lines: list[str]
    total_lines: int
    size: int
    mtime_ns: int
    binary: bool = False
    replaced: bool = False
    budget_cut: bool = False


def is_binary(head: bytes) -> bool:
    """Whether data looks binary: a NUL byte within its first 8 KiB."""
    return b"\x00" in head[:BINARY_PROBE_BYTES]


def human_size(size: int) -> str:
    """`size` bytes as a short human-readable string."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def format_numbered(lines: Sequence[str], *, first: int) -> str:
    """Lines numbered like `cat -n`, starting at line number `first`."""
    return "\n".join(f"{number:>6}\t{line}" for number, line in enumerate(lines, start=first))


def numbered_size(text: str, number: int) -> int:
    """Characters `text` takes as line `number` in `format_numbered`, its newline included."""
    return max(6, len(str(number))) + 1 + len(text) + 1


def _read_capped_line(handle: BinaryIO) -> tuple[bytes, bool] | None:
    """The next line (at most `_LINE_BYTE_CAP` bytes kept) and whether it was cut.

    Returns None at end of file. The rest of a cut line is consumed and dropped.
    """
    data = handle.readline(_LINE_BYTE_CAP)
    if not data:
        return None
    if data.endswith(b"\n") or len(data) < _LINE_BYTE_CAP:
        return data, False
    while True:
        rest = handle.readline(_CHUNK)
        if not rest or rest.endswith(b"\n"):
            return data, True


def _decode_line(data: bytes, *, cut: bool) -> tuple[str, bool]:
    """Decode one raw line; returns the text and whether bytes had to be replaced."""
    raw = data.removesuffix(b"\n").removesuffix(b"\r")
    replaced = False
    try:
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(raw, final=not cut)
    except UnicodeDecodeError:
        replaced = True
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=not cut)
    if cut or len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + TRUNCATION_MARKER
    return text, replaced


def _count_remaining_lines(handle: BinaryIO) -> int:
    """Count the lines from the current position (at a line start) to the end."""
    newlines = 0
    last = b""
    while chunk := handle.read(_CHUNK):
        newlines += chunk.count(b"\n")
        last = chunk[-1:]
    return newlines + (1 if last and last != b"\n" else 0)


def read_window(
    handle: BinaryIO,
    info: os.stat_result,
    *,
    offset: int,
    limit: int,
    max_chars: int | None = None,
) -> TextWindow:
    """Read lines `offset` .. `offset + limit - 1` (1-based) from an open binary file.

    Args:
        handle: A file opened for binary reading, positioned at its start.
        info: The file's `os.fstat` result.
        offset: The first line to return (1-based).
        limit: The most lines to return.
        max_chars: The most characters the window may take once numbered (see
            `format_numbered`); the window ends at the last whole line that fits, but
            always holds at least one line. None for no budget.

    Returns:
        The window, with the file's total line count.
    """
    head = handle.read(BINARY_PROBE_BYTES)
    if is_binary(head):
        return TextWindow([], 0, info.st_size, info.st_mtime_ns, binary=True)
    handle.seek(0)
    skipped = _skip_lines(handle, offset - 1)
    if skipped < offset - 1:
        return TextWindow([], skipped, info.st_size, info.st_mtime_ns)
    lines, replaced, cut, ended = _window_lines(handle, offset, limit, max_chars)
    read = offset - 1 + len(lines) + (1 if cut else 0)
    total = read if ended else read + _count_remaining_lines(handle)
    return TextWindow(
        lines, total, info.st_size, info.st_mtime_ns, replaced=replaced, budget_cut=cut
    )


def _skip_lines(handle: BinaryIO, count: int) -> int:
    """Consume up to `count` lines; returns how many there were."""
    for done in range(count):
        if _read_capped_line(handle) is None:
            return done
    return count


def _window_lines(
    handle: BinaryIO, first: int, limit: int, max_chars: int | None
) -> tuple[list[str], bool, bool, bool]:
    """Up to `limit` decoded lines numbered from `first`, within `max_chars` once numbered.

    Returns:
        The lines; whether bytes were replaced; whether the budget cut the window (the
        line that did not fit was consumed); whether the file ended.
    """
    lines: list[str] = []
    replaced = False
    used = 0
    while len(lines) < limit:
        item = _read_capped_line(handle)
        if item is None:
            return lines, replaced, False, True
        text, bad = _decode_line(item[0], cut=item[1])
        used += numbered_size(text, first + len(lines))
        if lines and max_chars is not None and used > max_chars:
            return lines, replaced, True, False
        lines.append(text)
        replaced = replaced or bad
    return lines, replaced, False, False
