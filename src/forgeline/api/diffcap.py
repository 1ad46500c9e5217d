"""A size cap on the diffs the API and the project page show (an 80 MB file is not a page).

Each file's part of the diff gets at most `file_bytes`, the whole at most `total_bytes`;
a cut is made at a line end, and the answer says which files were cut and by how much.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

TOTAL_BYTES = 2 * 1024 * 1024
FILE_BYTES = 512 * 1024
HEADER_BYTES = 2048  # a cut file keeps at least its `diff --git` header lines
_FILE_START = re.compile(r"^(?=diff --git )", re.MULTILINE)
_HEADER_PATH = re.compile(r"^diff --git (?:\"?a/)?(.*?)\"? (?:\"?b/)", re.MULTILINE)


class CutFile(BaseModel):
    """A file whose diff was cut: its path, the bytes shown and the bytes it had."""

    path: str
    shown_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class CappedDiff:
    """A diff within the size limits, and what was left out."""

    text: str
    cut: list[CutFile]

    @property
    def note(self) -> str | None:
        """A sentence for people: which files are not shown whole; None when nothing was cut."""
        if not self.cut:
            return None
        names = ", ".join(
            f"{c.path} ({_size(c.shown_bytes)} of {_size(c.total_bytes)})" for c in self.cut[:5]
        )
        more = f" and {len(self.cut) - 5} more" if len(self.cut) > 5 else ""
        return f"The diff is too large to show whole; cut: {names}{more}. Use git for the rest."


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


def _file_path(chunk: str) -> str:
    match = _HEADER_PATH.match(chunk)
    return match.group(1) if match else chunk.partition("\n")[0][:200]


def _head(data: bytes, limit: int) -> bytes:
    """At most `limit` bytes of `data`, ending at a line end, but always the file's header."""
    if len(data) <= limit:
        return data
    end = data.rfind(b"\n", 0, limit)
    hunk = data.find(b"\n@@", 0, HEADER_BYTES)
    header = hunk + 1 if hunk >= 0 else data.rfind(b"\n", 0, HEADER_BYTES) + 1
    return data[: max(end + 1, header)]


def cap_diff(
    text: str, *, total_bytes: int = TOTAL_BYTES, file_bytes: int = FILE_BYTES
) -> CappedDiff:
    """Cut `text` (a `git diff`) to the limits, per file and in total."""
    if len(text) * 4 <= min(total_bytes, file_bytes):
        return CappedDiff(text=text, cut=[])
    kept: list[bytes] = []
    cut: list[CutFile] = []
    budget = total_bytes
    for chunk in filter(None, _FILE_START.split(text)):
        data = chunk.encode()
        shown = _head(data, min(file_bytes, budget))
        if len(shown) < len(data):
            cut.append(
                CutFile(path=_file_path(chunk), shown_bytes=len(shown), total_bytes=len(data))
            )
        kept.append(shown)
        budget = max(0, budget - len(shown))
    return CappedDiff(text=b"".join(kept).decode("utf-8", "replace"), cut=cut)
