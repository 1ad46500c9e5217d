"""A subscription consumed in the background, for bus tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from forgeline.domain.events import Event


class Tail:
    """Collects the events of one subscription as they arrive."""

    def __init__(self, subscription: AsyncGenerator[Event, None]) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._subscription = subscription
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with contextlib.aclosing(self._subscription) as events:
            async for event in events:
                self.events.append(event)
                self._changed.set()

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]

    async def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Event]:
        """Wait until at least `count` events arrived; return them all."""
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self._changed.clear()
                if self._task.done():
                    self._task.result()
                    raise AssertionError("the subscription ended")
                await self._changed.wait()
        return self.events

    async def close(self) -> None:
        """Cancel the subscription and wait until it has ended."""
        self._task.cancel()
        await asyncio.wait({self._task})  # a cancellation of the caller still propagates
        if not self._task.cancelled() and self._task.exception() is not None:
            raise AssertionError("the subscription failed") from self._task.exception()
