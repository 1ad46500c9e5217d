"""Setup output as events: lines coalesced into one `setup_output` event every half second."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
MAX_EVENT_CHARS = 4000


class OutputStream:
    """Collects raw output, writes it to a log file and emits it in coalesced pieces.

    Args:
        emit: Called with each piece of text (whole lines, control sequences removed).
        log: A file to append the raw output to, or None.
        interval_s: How often pending lines are emitted.
    """

    def __init__(
        self,
        emit: Callable[[str], Awaitable[None]],
        *,
        log: Path | None = None,
        interval_s: float = 0.5,
    ) -> None:
        self._emit = emit
        self._log = log.open("ab") if log is not None else None
        self._interval_s = interval_s
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self.emitted = 0

    def feed(self, chunk: bytes) -> None:
        """Take a chunk of output (called from the reader, never blocks)."""
        if self._log is not None:
            self._log.write(chunk)
        self._pending += _CONTROL.sub("", self._decoder.decode(chunk).replace("\r", "\n"))

    async def flush(self, *, final: bool = False) -> None:
        """Emit the complete lines pending (everything when `final`)."""
        if final:
            self._pending += self._decoder.decode(b"", final=True)
        cut = len(self._pending) if final else self._pending.rfind("\n") + 1
        text, self._pending = self._pending[:cut], self._pending[cut:]
        for start in range(0, len(text), MAX_EVENT_CHARS):
            piece = text[start : start + MAX_EVENT_CHARS].strip("\n")
            if piece.strip():
                self.emitted += 1
                await self._emit(piece)

    async def pump(self) -> None:
        """Flush every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    async def close(self) -> None:
        """Emit what is left and close the log."""
        await self.flush(final=True)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
