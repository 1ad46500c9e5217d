"""Test helpers shipped with Forgeline: a fake LLM server speaking the real wire protocols."""

from __future__ import annotations

from forgeline.testing.fake_replies import (
    FakeCut,
    FakeError,
    FakeReply,
    FakeToolCall,
    FakeTurn,
    FakeUsage,
    load_script,
    parse_replies,
    parse_reply,
)
from forgeline.testing.fakellm import FakeLLM, RecordedRequest

__all__ = [
    "FakeCut",
    "FakeError",
    "FakeLLM",
    "FakeReply",
    "FakeToolCall",
    "FakeTurn",
    "FakeUsage",
    "RecordedRequest",
    "load_script",
    "parse_replies",
    "parse_reply",
]
