"""Model-call cost reservations held in this process, per project (see `budget`)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field


@dataclass
class Ledger:
    """The reservations held in this process, per project."""

    held: dict[str, dict[int, float]] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    keys: itertools.count[int] = field(default_factory=itertools.count)

    def lock(self, project_id: str) -> asyncio.Lock:
        return self.locks.setdefault(project_id, asyncio.Lock())

    def reserved(self, project_id: str) -> float:
        return sum(self.held.get(project_id, {}).values())

    def hold(self, project_id: str, amount: float) -> int:
        key = next(self.keys)
        self.held.setdefault(project_id, {})[key] = amount
        return key

    def release(self, project_id: str, key: int) -> None:
        self.held.get(project_id, {}).pop(key, None)
