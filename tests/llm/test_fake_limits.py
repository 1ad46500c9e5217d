"""The fake server's context window answers exactly as the real APIs do, and its cache model."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from forgeline.domain.errors import ContextOverflowError
from forgeline.domain.messages import Message, ModelRequest
from forgeline.llm.tokens import request_tokens
from forgeline.testing import FakeLLM, FakeTurn

BIG = "word " * 2_000  # 10 000 characters: 2 500 tokens


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_anthropic_prompt_is_too_long_is_the_real_error() -> None:
    with FakeLLM(context_limit=1_000, replies=[FakeTurn(text="kept")]) as fake:
        body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": BIG}]}
        status, error = post(fake.base_url + "/v1/messages", body)
        assert status == 400
        assert error == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 2508 tokens > 1000 maximum",
            },
        }
        assert fake.pending == 1  # a refused request uses no reply
        small = {**body, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 995}
        status, error = post(fake.base_url + "/v1/messages", small)
        assert status == 400 and "input length and `max_tokens` exceed context limit" in str(error)


def test_openai_context_length_exceeded_is_the_real_error() -> None:
    with FakeLLM(context_limit=1_000) as fake:
        body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": BIG}]}
        status, error = post(fake.openai_base_url + "/chat/completions", body)
        assert status == 400
        assert error["error"]["code"] == "context_length_exceeded"
        assert error["error"]["type"] == "invalid_request_error"
        assert error["error"]["message"].startswith(
            "This model's maximum context length is 1000 tokens. However, your messages "
            "resulted in 2608 tokens"
        )


async def test_the_adapters_raise_context_overflow_with_the_limit(
    anthropic_model: Any, openai_model: Any, fake: FakeLLM
) -> None:
    fake.context.limit = 1_000
    request = ModelRequest(system="s", messages=[Message(role="user", text=BIG)], max_tokens=10)
    for model in (anthropic_model(), openai_model()):
        try:
            await model.complete(request)
        except ContextOverflowError as exc:
            assert exc.limit == 1_000
        else:
            raise AssertionError("no overflow")


def test_the_fake_counts_no_more_than_the_loop_estimates_plus_framing(fake: FakeLLM) -> None:
    fake.enqueue(FakeTurn(text="ok"))
    request = ModelRequest(system="sys", messages=[Message(role="user", text=BIG)])
    body = {
        "model": "m",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "sys"}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": BIG}]}],
    }
    post(fake.base_url + "/v1/messages", body)
    assert fake.context.counts == [request_tokens(request)]


def test_the_cache_model_reads_the_longest_earlier_prefix() -> None:
    with FakeLLM(cache=True, replies=[FakeTurn(text="a"), FakeTurn(text="b")]) as fake:
        first = [{"role": "user", "content": BIG}]
        second = [*first, {"role": "assistant", "content": "a"}, {"role": "user", "content": "go"}]
        usage = []
        for messages in (first, second):
            body = {"model": "m", "max_tokens": 10, "messages": messages}
            usage.append(post(fake.base_url + "/v1/messages", body)[1]["usage"])
        assert usage[0]["cache_read_input_tokens"] == 0
        assert usage[1]["cache_read_input_tokens"] == 4 + 2504  # system, first message
        assert usage[1]["cache_creation_input_tokens"] == 10
