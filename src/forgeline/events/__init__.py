"""Events: the persisted log and its live fan-out (DESIGN §8, §9)."""

from __future__ import annotations

from forgeline.events.bus import EventBus, make_bus
from forgeline.events.cursor import EventReader, SeqCursor
from forgeline.events.local import LocalEventBus
from forgeline.events.log import EventLog, EventWriter, ProjectSink
from forgeline.events.redis_bus import RedisEventBus, stream_key

__all__ = [
    "EventBus",
    "EventLog",
    "EventReader",
    "EventWriter",
    "LocalEventBus",
    "ProjectSink",
    "RedisEventBus",
    "SeqCursor",
    "make_bus",
    "stream_key",
]
