"""Reading a line from the terminal on the event loop (not in a thread).

A prompt read in a worker thread cannot be interrupted: after Ctrl-C the thread keeps
waiting for Enter (the process hangs on exit) and then swallows the next line. Reading the
file descriptor when the loop says it is readable makes the prompt an ordinary awaitable:
cancelling it stops the read at once and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os


class LineReader:
    """Lines from a file descriptor (standard input by default), read on the running loop.

    Args:
        fd: The descriptor to read.
    """

    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self._buffer = b""
        self._eof = False

    def _take_line(self) -> str | None:
        if b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            return line.decode("utf-8", "replace")
        if self._eof:
            line, self._buffer = self._buffer, b""
            return line.decode("utf-8", "replace") if line else None
        return None

    async def readline(self) -> str:
        """The next line, without its line end.

        Raises:
            EOFError: The input ended.
        """
        while (line := self._take_line()) is None:
            if self._eof:
                raise EOFError
            await self._fill()
        return line

    async def _fill(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def on_readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._fd, on_readable)
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)
        chunk = os.read(self._fd, 4096)
        self._eof = not chunk
        self._buffer += chunk
