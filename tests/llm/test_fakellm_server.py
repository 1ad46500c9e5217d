"""The fake LLM server itself: non-streaming replies, errors, scripts and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from forgeline.domain.errors import UserError
from forgeline.testing import (
    FakeCut,
    FakeError,
    FakeLLM,
    FakeToolCall,
    FakeTurn,
    FakeUsage,
    load_script,
    parse_reply,
)

TOOL_TURN = FakeTurn(
    text="Found it.",
    tool_calls=[FakeToolCall(name="Glob", input={"pattern": "*.md"}, id="t_1")],
    usage=FakeUsage(input_tokens=12, output_tokens=7, cache_read_tokens=30, cache_write_tokens=4),
)


async def test_anthropic_non_streaming_reply(fake: FakeLLM) -> None:
    fake.enqueue(TOOL_TURN)
    async with anthropic.AsyncAnthropic(
        api_key="k", base_url=fake.anthropic_base_url, max_retries=0
    ) as client:
        message = await client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
        )

    assert message.model == "claude-haiku-4-5"
    assert message.stop_reason == "tool_use"
    text, tool = message.content
    assert text.type == "text" and text.text == "Found it."
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("t_1", "Glob", {"pattern": "*.md"})
    assert message.usage.input_tokens == 12
    assert message.usage.output_tokens == 7
    assert message.usage.cache_read_input_tokens == 30
    assert message.usage.cache_creation_input_tokens == 4
    assert not fake.requests[0].body.get("stream")


async def test_openai_non_streaming_reply(fake: FakeLLM) -> None:
    fake.enqueue(TOOL_TURN)
    async with openai.AsyncOpenAI(
        api_key="k", base_url=fake.openai_base_url, max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Found it."
    [call] = choice.message.tool_calls or []
    assert call.id == "t_1"
    assert call.type == "function"
    assert call.function.name == "Glob"
    assert json.loads(call.function.arguments) == {"pattern": "*.md"}
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 12 + 30 + 4
    assert usage.completion_tokens == 7
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 30


async def test_openai_stream_without_usage_option_has_no_usage_chunk(fake: FakeLLM) -> None:
    fake.enqueue(FakeTurn(text="abc"))
    async with openai.AsyncOpenAI(
        api_key="k", base_url=fake.openai_base_url, max_retries=0
    ) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = [chunk async for chunk in stream]

    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "abc"
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_error_reply_status_body_and_headers(fake: FakeLLM) -> None:
    fake.enqueue(FakeError(status=429, message="rate limited", headers={"retry-after": "7"}))
    async with anthropic.AsyncAnthropic(
        api_key="k", base_url=fake.anthropic_base_url, max_retries=0
    ) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(
                model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}]
            )

    error = caught.value
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "7"
    assert error.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "rate limited"},
    }


async def test_non_streaming_cut_drops_the_connection(fake: FakeLLM) -> None:
    fake.enqueue(FakeCut())
    async with openai.AsyncOpenAI(
        api_key="k", base_url=fake.openai_base_url, max_retries=0
    ) as client:
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )


def test_empty_queue_answers_500_saying_so(fake: FakeLLM) -> None:
    status, body = _post(fake.base_url + "/v1/messages", {"model": "m", "messages": []})

    assert status == 500
    assert "no scripted reply" in body["error"]["message"]
    assert len(fake.requests) == 1


def test_unknown_path_is_404(fake: FakeLLM) -> None:
    status, body = _post(fake.base_url + "/v2/other", {})

    assert status == 404
    assert "/v2/other" in body["error"]["message"]
    assert fake.requests == []


def test_control_endpoints_enqueue_and_list(fake: FakeLLM) -> None:
    status, body = _post(
        fake.base_url + "/_fake/replies", [{"text": "one"}, {"kind": "error", "status": 503}]
    )
    assert (status, body) == (200, {"pending": 2})

    status, body = _post(fake.base_url + "/_fake/replies", {"kind": "bogus"})
    assert status == 400
    assert "bogus" in body["error"]["message"]

    _post(fake.openai_base_url + "/chat/completions", {"model": "m", "messages": []})
    status, listed = _get(fake.base_url + "/_fake/requests")
    assert status == 200
    assert [entry["path"] for entry in listed] == ["/v1/chat/completions"]
    assert _get(fake.base_url + "/_fake/health") == (200, {"ok": True, "pending": 1})


def test_parse_reply_kinds_and_errors() -> None:
    assert isinstance(parse_reply({"text": "hi"}), FakeTurn)
    assert isinstance(parse_reply({"kind": "cut", "after_events": 1}), FakeCut)
    error = parse_reply({"kind": "error", "status": 429, "headers": {"retry-after": "1"}})
    assert isinstance(error, FakeError) and error.headers == {"retry-after": "1"}
    with pytest.raises(UserError, match="unknown fake reply kind"):
        parse_reply({"kind": "teapot"})
    with pytest.raises(UserError, match="invalid fake error reply"):
        parse_reply({"kind": "error", "status": 200})


def test_load_script_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "script.yaml"
    yaml_file.write_text(
        "replies:\n"
        "  - text: Looking around.\n"
        "    tool_calls:\n"
        "      - {name: Glob, input: {pattern: '**/*.py'}}\n"
        "  - {kind: error, status: 429, headers: {retry-after: '0'}}\n"
        "  - {kind: cut, after_events: 3}\n"
    )
    json_file = tmp_path / "script.json"
    json_file.write_text(json.dumps([{"text": "Done.", "usage": {"input_tokens": 3}}]))

    turn, error, cut = load_script(yaml_file)
    [done] = load_script(json_file)

    assert isinstance(turn, FakeTurn) and turn.tool_calls[0].input == {"pattern": "**/*.py"}
    assert isinstance(error, FakeError) and error.status == 429
    assert isinstance(cut, FakeCut) and cut.after_events == 3
    assert isinstance(done, FakeTurn) and done.usage.input_tokens == 3


def test_load_script_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        load_script(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("replies: {text: 1}\n")
    with pytest.raises(UserError, match="'replies' list"):
        load_script(bad)


def test_cli_serves_a_script_and_records_requests(tmp_path: Path) -> None:
    script = tmp_path / "replies.yaml"
    script.write_text("- text: from the script\n")
    record = tmp_path / "requests.jsonl"
    command = [sys.executable, "-m", "forgeline.testing.fakellm", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--script", str(script), "--record", str(record)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("fakellm listening on http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[1].strip()
        with openai.OpenAI(api_key="k", base_url=base_url + "/v1", max_retries=0) as client:
            completion = client.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hello"}]
            )
        assert completion.choices[0].message.content == "from the script"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    [entry] = [json.loads(line) for line in record.read_text().splitlines()]
    assert entry["path"] == "/v1/chat/completions"
    assert entry["body"]["messages"] == [{"role": "user", "content": "hello"}]


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("- {kind: nonsense}\n")

    done = subprocess.run(
        [sys.executable, "-m", "forgeline.testing.fakellm", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 2
    assert "unknown fake reply kind" in done.stderr
    assert "Traceback" not in done.stderr


def _post(url: str, data: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(data).encode(), headers={"content-type": "application/json"}
    )
    return _open(request)


def _get(url: str) -> tuple[int, Any]:
    return _open(urllib.request.Request(url))


def _open(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())
