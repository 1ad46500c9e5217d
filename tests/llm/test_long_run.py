"""A 300-step run through the real SDK adapters against a fake server with a context limit.

The raw conversation would be many times the window; the loop clears old tool results
and compacts, every request fits (the fake answers HTTP 400 exactly as the real APIs
would otherwise), and the last request still holds the feature request and the user's
answers verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forgeline.agents.context import ContextPolicy
from forgeline.agents.loop import Outcome, run_agent
from forgeline.domain.events import EventType, ListSink
from forgeline.domain.messages import Message
from forgeline.testing import FakeLLM
from forgeline.testing.fake_replies import FakeToolCall, FakeTurn
from forgeline.tools.base import Answer, Question, ToolContext

WINDOW = 12_000
STEPS = 300
REQUEST = "Add a --verbose flag to the CLI. KEEP-THIS-REQUEST-7f3a"
ANSWER = "Use the logging module, never print. KEEP-THIS-ANSWER-91c2"
SUMMARY = FakeTurn(text="## Goal and progress\nRead the modules one by one.")


def workspace(tmp_path: Path) -> ToolContext:
    for index in range(10):
        lines = [f"def function_{index}_{n}(value):  # line {n}" for n in range(30)]
        (tmp_path / f"mod{index}.py").write_text("\n".join(lines) + "\n")

    async def ask(questions: list[Question]) -> list[Answer]:
        return [Answer(question=q.question, other=ANSWER) for q in questions]

    return ToolContext(workspace=tmp_path.resolve(), agent="implementation", ask_user=ask)


def script(steps: int) -> list[FakeTurn]:
    question = {"questions": [{"question": "How should verbose output be written?"}]}
    turns = [FakeTurn(tool_calls=[FakeToolCall(name="AskUser", input=question)])]
    turns += [
        FakeTurn(
            text=f"Reading module {n % 10}.",
            tool_calls=[FakeToolCall(name="Read", input={"file_path": f"mod{n % 10}.py"})],
        )
        for n in range(steps - 2)
    ]
    return [*turns, FakeTurn(text="Done.")]


async def long_run(
    fake: FakeLLM, model: Any, tmp_path: Path, *, steps: int = STEPS, window: int = WINDOW
) -> tuple[Any, ListSink]:
    fake.enqueue(*script(steps))
    sink = ListSink()
    result = await run_agent(
        agent="implementation",
        model=model,
        system="You are the implementation agent.",
        tools=["Read", "AskUser"],
        ctx=workspace(tmp_path),
        messages=[Message(role="user", text=REQUEST)],
        sink=sink,
        policy=ContextPolicy(window=window),
    )
    return result, sink


def raw_tokens(sink: ListSink) -> int:
    """What the conversation would have grown to with every tool result kept."""
    return sum(len(e.data["content"]) for e in sink.of_type(EventType.TOOL_RESULT)) // 4


@pytest.fixture
def limited() -> Any:
    with FakeLLM(context_limit=WINDOW, cache=True, compaction_reply=SUMMARY) as server:
        yield server


@pytest.mark.parametrize(("provider", "steps"), [("anthropic", STEPS), ("openai", 120)])
async def test_a_300_step_run_fits_the_window_and_keeps_the_request_and_answers(
    limited: FakeLLM, tmp_path: Path, provider: str, steps: int
) -> None:
    from forgeline.llm.anthropic import AnthropicModel
    from forgeline.llm.openai import OpenAIModel

    model: Callable[..., Any] = AnthropicModel if provider == "anthropic" else OpenAIModel
    base = limited.anthropic_base_url if provider == "anthropic" else limited.openai_base_url
    name = "claude-sonnet-4-5" if provider == "anthropic" else "gpt-4.1"
    built = model(name, api_key="k", base_url=base, retry_base_delay_s=0.0)
    result, sink = await long_run(limited, built, tmp_path, steps=steps)

    assert result.outcome == Outcome.COMPLETED, result.reason
    assert result.steps == steps
    assert limited.context.overflows == 0
    policy = ContextPolicy(window=WINDOW)
    assert max(limited.context.counts) + policy.max_tokens <= WINDOW
    assert raw_tokens(sink) > steps // 60 * WINDOW
    last = json.dumps(limited.requests[-1].body)
    assert REQUEST in last and ANSWER in last
    compactions = [e.data for e in sink.of_type(EventType.CONTEXT_COMPACTED) if e.data["compacted"]]
    assert compactions and all(c["after_tokens"] < c["before_tokens"] for c in compactions)


async def test_a_provider_that_says_too_long_gets_a_compacted_retry(
    tmp_path: Path, anthropic_model: Callable[..., Any], fake: FakeLLM
) -> None:
    """The loop thinks the window is 4x larger than it is: the 400 makes it compact."""
    fake.context.limit = WINDOW
    fake._compaction_reply = SUMMARY
    result, sink = await long_run(fake, anthropic_model(), tmp_path, steps=80, window=4 * WINDOW)

    assert result.outcome == Outcome.COMPLETED, result.reason
    assert fake.context.overflows >= 1
    assert any(e.data["compacted"] for e in sink.of_type(EventType.CONTEXT_COMPACTED))
    assert ANSWER in json.dumps(fake.requests[-1].body)


async def test_openai_context_length_exceeded_also_compacts(
    tmp_path: Path, openai_model: Callable[..., Any], fake: FakeLLM
) -> None:
    fake.context.limit = WINDOW
    fake._compaction_reply = SUMMARY
    result, _ = await long_run(fake, openai_model(), tmp_path, steps=80, window=4 * WINDOW)
    assert result.outcome == Outcome.COMPLETED, result.reason
    assert fake.context.overflows >= 1
