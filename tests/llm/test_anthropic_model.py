"""AnthropicModel through the real `anthropic` SDK against the fake server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from forgeline.domain.errors import ModelError
from forgeline.domain.messages import Message, ModelRequest, ToolCall, ToolResult
from forgeline.llm.anthropic import AnthropicModel
from forgeline.settings import ModelPrice
from forgeline.testing import FakeCut, FakeError, FakeLLM, FakeToolCall, FakeTurn, FakeUsage

from .helpers import GLOB, READ, simple_request

Build = Callable[..., AnthropicModel]


async def test_text_deltas_reach_on_text(fake: FakeLLM, anthropic_model: Build) -> None:
    text = "Looking at the repository layout first."
    fake.enqueue(FakeTurn(text=text, chunk_size=5))
    deltas: list[str] = []

    response = await anthropic_model().complete(simple_request(), on_text=deltas.append)

    assert len(deltas) == len(text) // 5 + 1
    assert "".join(deltas) == text
    assert response.message.role == "assistant"
    assert response.message.text == text
    assert response.message.tool_calls == []
    assert response.stop_reason == "end_turn"
    assert response.model == "anthropic:claude-sonnet-4-5"


async def test_request_carries_model_key_and_conversation(
    fake: FakeLLM, anthropic_model: Build
) -> None:
    fake.enqueue(FakeTurn(text="ok"))

    await anthropic_model("claude-haiku-4-5", api_key="sk-ant-secret").complete(simple_request())

    [sent] = fake.requests
    assert sent.path == "/v1/messages"
    key_headers = (sent.headers.get("x-api-key", ""), sent.headers.get("authorization", ""))
    assert any("sk-ant-secret" in value for value in key_headers)
    assert sent.headers["anthropic-version"]
    assert sent.body["model"] == "claude-haiku-4-5"
    assert sent.body["max_tokens"] == 1024
    assert sent.body["stream"] is True
    assert sent.body["messages"][0]["role"] == "user"
    assert sent.body["messages"][0]["content"][0]["text"] == "Hello"
    assert [tool["name"] for tool in sent.body["tools"]] == ["Glob", "Read"]
    assert sent.body["tools"][0]["input_schema"] == GLOB.input_schema


async def test_cache_control_on_last_tool_system_and_moving_end(
    fake: FakeLLM, anthropic_model: Build
) -> None:
    fake.enqueue(FakeTurn(text="ok"))
    request = ModelRequest(
        system="System prompt.",
        tools=[GLOB, READ],
        messages=[
            Message(role="user", text="Find the tests."),
            Message(
                role="assistant",
                text="Searching.",
                tool_calls=[ToolCall(id="toolu_1", name="Glob", input={"pattern": "t*"})],
            ),
            Message(
                role="user",
                text="Also check docs.",
                tool_results=[ToolResult(tool_call_id="toolu_1", content="tests/a.py")],
            ),
        ],
    )

    await anthropic_model().complete(request)

    body = fake.requests[0].body
    ephemeral = {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][-1]["cache_control"] == ephemeral
    assert body["system"] == [
        {"type": "text", "text": "System prompt.", "cache_control": ephemeral}
    ]
    blocks = [block for message in body["messages"] for block in message["content"]]
    cached = [block for block in blocks if "cache_control" in block]
    assert cached == [body["messages"][-1]["content"][-1]]
    assert cached[0]["cache_control"] == ephemeral


async def test_tool_use_round_trip(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(
        FakeTurn(
            text="Let me look.",
            tool_calls=[
                FakeToolCall(name="Glob", input={"pattern": "**/*.py"}, id="toolu_a"),
                FakeToolCall(name="Read", input={"path": "src/app.py", "limit": 20}),
            ],
            chunk_size=3,
        ),
        FakeTurn(text="Done."),
    )
    model = anthropic_model()

    first = await model.complete(simple_request("Where is the app?"))

    assert first.stop_reason == "tool_use"
    glob, read = first.message.tool_calls
    assert glob == ToolCall(id="toolu_a", name="Glob", input={"pattern": "**/*.py"})
    assert read.name == "Read"
    assert read.input == {"path": "src/app.py", "limit": 20}
    assert read.parse_error is None
    assert read.id.startswith("toolu_")

    results = [
        ToolResult(tool_call_id="toolu_a", content="src/app.py"),
        ToolResult(tool_call_id=read.id, content="file not found", is_error=True),
    ]
    follow_up = ModelRequest(
        system="sys",
        messages=[
            Message(role="user", text="Where is the app?"),
            first.message,
            Message(role="user", tool_results=results),
        ],
    )
    second = await model.complete(follow_up)

    assert second.message.text == "Done."
    assistant, user = fake.requests[1].body["messages"][1:]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "text", "text": "Let me look."}
    assert assistant["content"][1] == {
        "type": "tool_use",
        "id": "toolu_a",
        "name": "Glob",
        "input": {"pattern": "**/*.py"},
    }
    assert user["role"] == "user"
    assert user["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_a",
        "content": "src/app.py",
        "is_error": False,
    }
    assert user["content"][1]["tool_use_id"] == read.id
    assert user["content"][1]["content"] == "file not found"
    assert user["content"][1]["is_error"] is True


async def test_usage_and_cost(fake: FakeLLM, anthropic_model: Build) -> None:
    usage = FakeUsage(
        input_tokens=100, output_tokens=50, cache_read_tokens=1000, cache_write_tokens=200
    )
    fake.enqueue(FakeTurn(text="ok", usage=usage))

    response = await anthropic_model("claude-sonnet-4-5-20250929").complete(simple_request())

    got = response.usage
    assert (got.input_tokens, got.output_tokens) == (100, 50)
    assert (got.cache_read_tokens, got.cache_write_tokens) == (1000, 200)
    assert got.calls == 1
    # $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens.
    assert got.cost_usd == pytest.approx((100 * 3 + 50 * 15 + 1000 * 0.3 + 200 * 3.75) / 1e6)


async def test_price_overrides_apply(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(FakeTurn(text="ok", usage=FakeUsage(input_tokens=1_000_000, output_tokens=0)))
    prices = {"claude-sonnet-4-5": ModelPrice(input=7.0, output=1.0)}

    response = await anthropic_model(prices=prices).complete(simple_request())

    assert response.usage.cost_usd == pytest.approx(7.0)


async def test_stop_reason_passed_through(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(FakeTurn(text="truncated", stop_reason="max_tokens"))

    response = await anthropic_model().complete(simple_request())

    assert response.stop_reason == "max_tokens"


async def test_malformed_tool_json_gives_parse_error(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(
        FakeTurn(tool_calls=[FakeToolCall(name="Glob", raw_arguments='{"pattern": "*.py"')])
    )

    response = await anthropic_model().complete(simple_request())

    [call] = response.message.tool_calls
    assert call.name == "Glob"
    assert call.input == {}
    assert call.parse_error is not None
    assert "Glob" in call.parse_error
    assert "JSON" in call.parse_error


async def test_429_waits_for_retry_after_then_succeeds(
    fake: FakeLLM, anthropic_model: Build
) -> None:
    fake.enqueue(
        FakeError(status=429, message="slow down", headers={"retry-after": "0.4"}),
        FakeTurn(text="after the wait"),
    )

    started = time.monotonic()
    response = await anthropic_model().complete(simple_request())
    waited = time.monotonic() - started

    assert response.message.text == "after the wait"
    assert len(fake.requests) == 2
    assert 0.4 <= waited < 3.0


async def test_retry_after_ms_wins(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(
        FakeError(status=429, headers={"retry-after-ms": "250", "retry-after": "30"}),
        FakeTurn(text="ok"),
    )

    started = time.monotonic()
    await anthropic_model().complete(simple_request())

    assert 0.25 <= time.monotonic() - started < 3.0
    assert len(fake.requests) == 2


@pytest.mark.parametrize("status", [529, 503, 500, 502, 504])
async def test_server_errors_are_retried(
    fake: FakeLLM, anthropic_model: Build, status: int
) -> None:
    fake.enqueue(FakeError(status=status), FakeError(status=status), FakeTurn(text="recovered"))

    response = await anthropic_model().complete(simple_request())

    assert response.message.text == "recovered"
    assert len(fake.requests) == 3


async def test_overloaded_error_inside_stream_is_retried(
    fake: FakeLLM, anthropic_model: Build
) -> None:
    fake.enqueue(FakeError(status=529, message="Overloaded", in_stream=True), FakeTurn(text="ok"))

    response = await anthropic_model().complete(simple_request())

    assert response.message.text == "ok"
    assert len(fake.requests) == 2


@pytest.mark.parametrize("abrupt", [True, False])
async def test_cut_stream_is_retried_as_a_whole(
    fake: FakeLLM, anthropic_model: Build, abrupt: bool
) -> None:
    fake.enqueue(
        FakeCut(turn=FakeTurn(text="partial answer", chunk_size=4), after_events=5, abrupt=abrupt),
        FakeTurn(
            text="full answer", tool_calls=[FakeToolCall(name="Glob", input={"pattern": "*"})]
        ),
    )
    deltas: list[str] = []

    response = await anthropic_model().complete(simple_request(), on_text=deltas.append)

    assert len(fake.requests) == 2
    assert fake.requests[0].body == fake.requests[1].body
    assert response.message.text == "full answer"
    assert response.message.tool_calls[0].input == {"pattern": "*"}
    # The failed attempt's deltas were already delivered; the retry re-streams.
    assert "".join(deltas) == "part" + "ial " + "full answer"


async def test_401_is_a_clear_model_error(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(FakeError(status=401, message="invalid x-api-key"))

    with pytest.raises(ModelError) as caught:
        await anthropic_model().complete(simple_request())

    message = str(caught.value)
    assert "rejected the API key" in message
    assert "ANTHROPIC_API_KEY" in message
    assert "invalid x-api-key" in message
    assert len(fake.requests) == 1


async def test_400_carries_the_api_message(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(FakeError(status=400, message="messages: roles must alternate"))

    with pytest.raises(ModelError, match="roles must alternate") as caught:
        await anthropic_model().complete(simple_request())

    assert "400" in str(caught.value)
    assert len(fake.requests) == 1


async def test_retries_exhausted_names_the_status(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(*[FakeError(status=503, message="upstream unavailable")] * 3)

    with pytest.raises(ModelError) as caught:
        await anthropic_model(max_retries=2).complete(simple_request())

    message = str(caught.value)
    assert "3 attempt" in message
    assert "HTTP 503" in message
    assert "upstream unavailable" in message
    assert len(fake.requests) == 3


async def test_backoff_grows_without_retry_after(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(FakeError(status=503), FakeError(status=503), FakeTurn(text="ok"))

    started = time.monotonic()
    await anthropic_model(retry_base_delay_s=0.2).complete(simple_request())

    # Equal jitter: the first wait is in [0.1, 0.2], the second in [0.2, 0.4].
    assert 0.3 <= time.monotonic() - started < 3.0


async def test_missing_key_explains_how_to_set_it(fake: FakeLLM) -> None:
    model = AnthropicModel("claude-sonnet-4-5", base_url=fake.anthropic_base_url)

    with pytest.raises(ModelError) as caught:
        await model.complete(simple_request())

    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert "forgeline demo" in str(caught.value)
    assert fake.requests == []


async def test_environment_key_and_base_url_are_honoured(
    fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
    fake.enqueue(FakeTurn(text="via env"))

    response = await AnthropicModel("claude-haiku-4-5").complete(simple_request())

    assert response.message.text == "via env"
    headers = fake.requests[0].headers
    assert "sk-ant-from-env" in headers.get("x-api-key", "") + headers.get("authorization", "")


async def test_exceptions_from_on_text_are_not_retried(
    fake: FakeLLM, anthropic_model: Build
) -> None:
    fake.enqueue(FakeTurn(text="hello"), FakeTurn(text="hello"))

    def explode(_: str) -> None:
        raise RuntimeError("listener failed")

    with pytest.raises(RuntimeError, match="listener failed"):
        await anthropic_model().complete(simple_request(), on_text=explode)

    assert len(fake.requests) == 1


async def test_empty_queue_fails_clearly(fake: FakeLLM, anthropic_model: Build) -> None:
    with pytest.raises(ModelError, match="no scripted reply"):
        await anthropic_model(max_retries=0).complete(simple_request())


async def test_empty_messages_and_results_are_filled(fake: FakeLLM, anthropic_model: Build) -> None:
    fake.enqueue(FakeTurn(text="ok"))
    request = ModelRequest(
        system="",
        messages=[
            Message(role="user", text="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="t1", name="Glob", input={})]),
            Message(role="user", tool_results=[ToolResult(tool_call_id="t1", content="")]),
        ],
    )

    await anthropic_model().complete(request)

    body: dict[str, Any] = fake.requests[0].body
    assert "system" not in body
    assert "tools" not in body
    assert body["messages"][2]["content"][0]["content"] == "(empty)"
