"""OpenAIModel through the real `openai` SDK against the fake server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from forgeline.domain.errors import ModelError
from forgeline.domain.messages import Message, ModelRequest, ToolCall, ToolResult
from forgeline.llm.openai import OpenAIModel
from forgeline.settings import ModelPrice
from forgeline.testing import FakeCut, FakeError, FakeLLM, FakeToolCall, FakeTurn, FakeUsage

from .helpers import GLOB, simple_request

Build = Callable[..., OpenAIModel]


async def test_text_deltas_reach_on_text(fake: FakeLLM, openai_model: Build) -> None:
    text = "Reading the build configuration."
    fake.enqueue(FakeTurn(text=text, chunk_size=4))
    deltas: list[str] = []

    response = await openai_model().complete(simple_request(), on_text=deltas.append)

    assert deltas == [text[start : start + 4] for start in range(0, len(text), 4)]
    assert response.message.text == text
    assert response.stop_reason == "end_turn"
    assert response.model == "openai:gpt-4.1"


async def test_request_shape(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeTurn(text="ok"))

    await openai_model(api_key="sk-openai-secret").complete(simple_request("Hi"))

    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-openai-secret"
    assert sent.body["model"] == "gpt-4.1"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["max_tokens"] == 1024
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are a careful engineer."},
        {"role": "user", "content": "Hi"},
    ]
    assert sent.body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "Glob",
            "description": GLOB.description,
            "parameters": GLOB.input_schema,
        },
    }


async def test_tool_calls_assembled_and_results_sent_back(
    fake: FakeLLM, openai_model: Build
) -> None:
    fake.enqueue(
        FakeTurn(
            text="Checking.",
            tool_calls=[
                FakeToolCall(name="Glob", input={"pattern": "src/**/*.py"}, id="call_a"),
                FakeToolCall(name="Read", input={"path": "README.md", "offset": 3}),
            ],
            chunk_size=2,
        ),
        FakeTurn(text="All done."),
    )
    model = openai_model()

    first = await model.complete(simple_request("Look around"))

    assert first.stop_reason == "tool_use"
    glob, read = first.message.tool_calls
    assert glob == ToolCall(id="call_a", name="Glob", input={"pattern": "src/**/*.py"})
    assert (read.name, read.input) == ("Read", {"path": "README.md", "offset": 3})

    follow_up = ModelRequest(
        system="sys",
        messages=[
            Message(role="user", text="Look around"),
            first.message,
            Message(
                role="user",
                text="Keep going.",
                tool_results=[
                    ToolResult(tool_call_id="call_a", content="src/a.py"),
                    ToolResult(tool_call_id=read.id, content="no such file", is_error=True),
                ],
            ),
        ],
    )
    second = await model.complete(follow_up)

    assert second.message.text == "All done."
    messages = fake.requests[1].body["messages"]
    assert [message["role"] for message in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "user",
    ]
    assistant = messages[2]
    assert assistant["content"] == "Checking."
    assert assistant["tool_calls"][0]["id"] == "call_a"
    assert assistant["tool_calls"][0]["type"] == "function"
    assert assistant["tool_calls"][0]["function"]["name"] == "Glob"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {
        "pattern": "src/**/*.py"
    }
    assert messages[3] == {"role": "tool", "tool_call_id": "call_a", "content": "src/a.py"}
    assert messages[4]["tool_call_id"] == read.id
    assert messages[4]["content"].startswith("Error: ")
    assert "no such file" in messages[4]["content"]
    assert messages[5] == {"role": "user", "content": "Keep going."}


async def test_usage_splits_cached_tokens_and_costs(fake: FakeLLM, openai_model: Build) -> None:
    usage = FakeUsage(input_tokens=100, output_tokens=50, cache_read_tokens=1000)
    fake.enqueue(FakeTurn(text="ok", usage=usage))

    response = await openai_model("gpt-4.1-2025-04-14").complete(simple_request())

    got = response.usage
    assert (got.input_tokens, got.output_tokens, got.cache_read_tokens) == (100, 50, 1000)
    assert got.cache_write_tokens == 0
    assert got.calls == 1
    # $2 in, $8 out, $0.50 cached in per million tokens.
    assert got.cost_usd == pytest.approx((100 * 2 + 50 * 8 + 1000 * 0.5) / 1e6)


async def test_price_overrides_apply(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeTurn(text="ok", usage=FakeUsage(input_tokens=0, output_tokens=2_000_000)))
    prices = {"llama3.1:8b": ModelPrice(input=0.0, output=0.25)}

    response = await openai_model("llama3.1:8b", prices=prices).complete(simple_request())

    assert response.usage.cost_usd == pytest.approx(0.5)


async def test_unknown_model_costs_nothing(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeTurn(text="ok"))

    response = await openai_model("qwen3-coder:30b").complete(simple_request())

    assert response.usage.cost_usd == 0.0
    assert response.usage.input_tokens == 10


async def test_finish_reason_length_maps_to_max_tokens(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeTurn(text="cut", stop_reason="max_tokens"))

    response = await openai_model().complete(simple_request())

    assert response.stop_reason == "max_tokens"


async def test_malformed_tool_json_gives_parse_error(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeTurn(tool_calls=[FakeToolCall(name="Read", raw_arguments="{'path': 'x'}")]))

    response = await openai_model().complete(simple_request())

    [call] = response.message.tool_calls
    assert call.name == "Read"
    assert call.input == {}
    assert call.parse_error is not None
    assert "Read" in call.parse_error


async def test_non_object_tool_json_gives_parse_error(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeTurn(tool_calls=[FakeToolCall(name="Read", raw_arguments='["a", "b"]')]))

    response = await openai_model().complete(simple_request())

    assert "expected a JSON object" in (response.message.tool_calls[0].parse_error or "")


async def test_base_url_from_environment_without_key_uses_dummy_key(
    fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    fake.enqueue(FakeTurn(text="local model"))

    response = await OpenAIModel("llama3.1:8b").complete(simple_request())

    assert response.message.text == "local model"
    assert fake.requests[0].headers["authorization"] == "Bearer not-needed"
    assert fake.requests[0].body["model"] == "llama3.1:8b"


async def test_chat_completions_path_without_v1_is_served(
    fake: FakeLLM, openai_model: Build
) -> None:
    fake.enqueue(FakeTurn(text="ok"))

    await openai_model(base_url=fake.base_url).complete(simple_request())

    assert fake.requests[0].path == "/chat/completions"


async def test_environment_key_is_honoured(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    fake.enqueue(FakeTurn(text="ok"))

    await OpenAIModel("gpt-4o", base_url=fake.openai_base_url).complete(simple_request())

    assert fake.requests[0].headers["authorization"] == "Bearer sk-from-env"


async def test_missing_key_and_base_url_explains_setup() -> None:
    with pytest.raises(ModelError) as caught:
        await OpenAIModel("gpt-4.1").complete(simple_request())

    message = str(caught.value)
    assert "OPENAI_API_KEY" in message
    assert "OPENAI_BASE_URL" in message
    assert "forgeline demo" in message


async def test_429_waits_for_retry_after(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeError(status=429, headers={"retry-after": "0.3"}), FakeTurn(text="ok"))

    started = time.monotonic()
    response = await openai_model().complete(simple_request())

    assert 0.3 <= time.monotonic() - started < 3.0
    assert response.message.text == "ok"
    assert len(fake.requests) == 2


async def test_429_out_of_quota_is_not_retried(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(
        FakeError(status=429, code="insufficient_quota", message="You exceeded your quota")
    )

    with pytest.raises(ModelError, match="quota"):
        await openai_model().complete(simple_request())

    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [503, 500, 502])
async def test_server_errors_are_retried(fake: FakeLLM, openai_model: Build, status: int) -> None:
    fake.enqueue(FakeError(status=status), FakeTurn(text="recovered"))

    response = await openai_model().complete(simple_request())

    assert response.message.text == "recovered"
    assert len(fake.requests) == 2


async def test_error_inside_stream_is_retried(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(
        FakeError(status=500, message="model crashed", in_stream=True), FakeTurn(text="ok")
    )

    response = await openai_model().complete(simple_request())

    assert response.message.text == "ok"
    assert len(fake.requests) == 2


@pytest.mark.parametrize("abrupt", [True, False])
async def test_cut_stream_is_retried_as_a_whole(
    fake: FakeLLM, openai_model: Build, abrupt: bool
) -> None:
    fake.enqueue(
        FakeCut(turn=FakeTurn(text="half of it", chunk_size=4), after_events=3, abrupt=abrupt),
        FakeTurn(text="all of it"),
    )
    deltas: list[str] = []

    response = await openai_model().complete(simple_request(), on_text=deltas.append)

    assert response.message.text == "all of it"
    assert len(fake.requests) == 2
    assert "".join(deltas) == "half" + " of " + "all of it"


async def test_401_is_a_clear_model_error(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeError(status=401, message="Incorrect API key provided"))

    with pytest.raises(ModelError) as caught:
        await openai_model().complete(simple_request())

    assert "OPENAI_API_KEY" in str(caught.value)
    assert "Incorrect API key provided" in str(caught.value)
    assert len(fake.requests) == 1


async def test_400_carries_the_api_message(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeError(status=400, message="Invalid schema for function 'Glob'"))

    with pytest.raises(ModelError, match="Invalid schema for function 'Glob'"):
        await openai_model().complete(simple_request())

    assert len(fake.requests) == 1


async def test_404_names_the_model(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(FakeError(status=404, message="model 'nope' not found"))

    with pytest.raises(ModelError, match="'nope'") as caught:
        await openai_model("nope").complete(simple_request())

    assert "OPENAI_BASE_URL" in str(caught.value)


async def test_retries_exhausted_names_the_status(fake: FakeLLM, openai_model: Build) -> None:
    fake.enqueue(*[FakeError(status=502, message="bad gateway")] * 2)

    with pytest.raises(ModelError, match="HTTP 502") as caught:
        await openai_model(max_retries=1).complete(simple_request())

    assert "2 attempt" in str(caught.value)
    assert len(fake.requests) == 2


async def test_connection_refused_is_retried_then_reported() -> None:
    with FakeLLM() as gone:
        url = gone.openai_base_url
    model = OpenAIModel("gpt-4.1", base_url=url, max_retries=1, retry_base_delay_s=0.0)

    with pytest.raises(ModelError, match=r"2 attempt.*connection failed"):
        await model.complete(simple_request())
