"""Collect a command's output incrementally, keeping only its head and tail.

However much a command prints, memory stays bounded by about `max_chars` characters
plus one read chunk: the head is kept until it is full, the tail is a sliding window.
Bytes are decoded as UTF-8 with invalid sequences replaced, across chunk boundaries.
"""

from __future__ import annotations

import codecs
from collections import deque

_NOTE_RESERVE = 64


class OutputCollector:
    """Accumulates output and renders it within `max_chars` characters."""

    def __init__(self, max_chars: int) -> None:
        """Start an empty collector.

        Args:
            max_chars: Most characters `render` returns (at least 1).
        """
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self._max_chars = max_chars
        self._reserve = min(_NOTE_RESERVE, max_chars // 2)
        self._head_limit = (max_chars - self._reserve) // 2
        self._tail_limit = max_chars - self._reserve - self._head_limit
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._head: list[str] = []
        self._head_len = 0
        self._tail: deque[str] = deque()
        self._tail_len = 0
        self.total_chars = 0

    def feed(self, data: bytes) -> None:
        """Add a chunk of raw output."""
        self._add(self._decoder.decode(data))

    def render(self) -> tuple[str, bool]:
        """Finish decoding and return `(text, truncated)`.

        When the output is longer than `max_chars`, the middle is replaced by a line
        `... N characters cut ...` and the result still fits in `max_chars`.
        """
        self._add(self._decoder.decode(b"", final=True))
        head = "".join(self._head)
        if self.total_chars <= self._max_chars:
            return head, False
        tail = "".join(self._tail)[-self._tail_limit :] if self._tail_limit else ""
        cut = self.total_chars - self._head_limit - len(tail)
        note = f"\n... {cut} characters cut ...\n"
        return head[: self._head_limit] + note[: self._reserve] + tail, True

    def _add(self, text: str) -> None:
        if not text:
            return
        self.total_chars += len(text)
        room = self._max_chars - self._head_len
        if room > 0:
            piece = text[:room]
            self._head.append(piece)
            self._head_len += len(piece)
        self._tail.append(text)
        self._tail_len += len(text)
        while self._tail and self._tail_len - len(self._tail[0]) >= self._tail_limit:
            self._tail_len -= len(self._tail.popleft())
