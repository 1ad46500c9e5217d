"""The incremental conversation estimate equals a full recount, whatever the loop does.

The agent loop appends, the context manager clears old results (replacing messages)
and compacts (replacing the older part), a note between turns replaces the last
message, and each request carries a copy of the list: after every step the kept
running total must be exactly the sum over the conversation, counted from scratch.
"""

from __future__ import annotations

import gc

from forgeline.agents import context
from forgeline.agents.context import ContextPolicy, clear_results, conversation_tokens
from forgeline.domain.messages import Message, ModelRequest, ToolCall, ToolResult
from forgeline.llm import tokens
from forgeline.llm.tokens import message_tokens, request_tokens, tool_tokens


def fresh(messages: list[Message]) -> int:
    """The full recount: every message counted anew (copies are never memoised yet)."""
    return sum(message_tokens(m.model_copy(deep=True)) for m in messages)


def turn(i: int, size: int = 900) -> list[Message]:
    call = ToolCall(id=f"c{i}", name="Read", input={"file_path": f"src/f{i}.py"})
    result = ToolResult(tool_call_id=f"c{i}", content=f"{i}\n" * size)
    return [
        Message(role="assistant", text=f"reading {i}", tool_calls=[call]),
        Message(role="user", tool_results=[result]),
    ]


def check(messages: list[Message]) -> None:
    assert conversation_tokens(messages) == fresh(messages)
    request = ModelRequest.model_construct(system="sys", messages=list(messages), tools=[])
    assert request_tokens(request) == tokens.text_tokens(3) + 4 + fresh(messages)


async def summarise(request: ModelRequest) -> str:
    return "## Goal and progress\nHalf done."


async def test_the_running_total_matches_a_recount_across_appends_clearing_and_compaction() -> None:
    messages = [Message(role="user", text="Make the parser strict.")]
    policy = ContextPolicy(window=6_000)
    compactions = cleared = 0
    for i in range(60):
        messages += turn(i)
        check(messages)
        report = await context.fit(messages, fixed_tokens=200, policy=policy, summarise=summarise)
        check(messages)
        if report is not None:
            compactions += report.compacted
            cleared += report.cleared_results
        if i % 7 == 3:  # a note between turns joins the last user message (a copy)
            last = messages[-1]
            messages[-1] = last.model_copy(update={"text": f"note {i}"})
            check(messages)
    assert compactions > 0 and cleared > 0  # both paths were taken


def test_clearing_in_the_middle_and_shortening_are_noticed() -> None:
    messages = [Message(role="user", text="task")]
    for i in range(20):
        messages += turn(i)
    check(messages)
    assert clear_results(messages, excess=2_000) > 0
    check(messages)
    del messages[5:]
    check(messages)
    messages[3] = Message(role="assistant", text="replaced")
    check(messages)
    check(messages[:1])
    check([])


def test_conversations_sharing_their_first_message_stay_exact() -> None:
    task = Message(role="user", text="the same task")
    one = [task, *turn(1), *turn(2)]
    two = [task, *turn(3, size=10)]
    for _ in range(3):
        check(one)
        check(two)
        one += turn(4)
        two += turn(5, size=5)


def test_a_conversations_total_is_forgotten_with_its_first_message() -> None:
    messages = [Message(role="user", text="a task"), *turn(1)]
    check(messages)
    key = id(messages[0])
    assert key in tokens._TALLIES
    del messages
    gc.collect()
    assert key not in tokens._TALLIES


def test_tool_definitions_are_counted_as_before() -> None:
    from forgeline.domain.messages import ToolSpec

    specs = [
        ToolSpec(name="Read", description="Read a file.", input_schema={"type": "object"}),
        ToolSpec(name="Bash", description="Run it.", input_schema={"a": "é" * 7}),
    ]
    chars = sum(len(s.name) + len(s.description) + tokens.json_chars(s.input_schema) for s in specs)
    expected = tokens.text_tokens(chars) + tokens.BLOCK_OVERHEAD * 2
    assert tool_tokens(specs) == expected
    assert tool_tokens(specs) == expected  # remembered per definition
    first = len("Read") + len("Read a file.") + len('{"type":"object"}')
    assert tool_tokens(specs[:1]) == tokens.text_tokens(first) + tokens.BLOCK_OVERHEAD
