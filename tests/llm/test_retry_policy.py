"""The retry policy's pure parts: `retry-after` parsing, backoff and the retry loop."""

from __future__ import annotations

import email.utils
import time

import pytest

from forgeline.domain.errors import ModelError
from forgeline.llm.retry import (
    MAX_WAIT_S,
    RetryPolicy,
    TransientModelError,
    backoff_delay,
    call_with_retries,
    retry_after_s,
)


def test_retry_after_seconds_and_millis() -> None:
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"Retry-After": "0.25"}) == 0.25
    assert retry_after_s({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_s({"retry-after-ms": "200", "retry-after": "9"}) == 0.2


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = retry_after_s({"retry-after": when})
    assert waited is not None
    assert 25 <= waited <= 31


def test_retry_after_ignores_garbage() -> None:
    assert retry_after_s({}) is None
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({"retry-after": "-4"}) is None
    assert retry_after_s({"retry-after-ms": "x", "retry-after": "2"}) == 2.0


def test_backoff_honours_and_caps_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=10)
    assert backoff_delay(policy, 3, retry_after=0.0) == 0.0
    assert backoff_delay(policy, 0, retry_after=2.5) == 2.5
    assert backoff_delay(policy, 0, retry_after=3600) == MAX_WAIT_S


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0)
    for retry, full in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (10, 5.0)]:
        delays = {backoff_delay(policy, retry, retry_after=None) for _ in range(50)}
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(delays) > 1


async def test_call_with_retries_stops_on_final_errors() -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise KeyError("boom")

    def classify(exc: Exception) -> TransientModelError | ModelError | None:
        return ModelError(f"final: {exc}")

    with pytest.raises(ModelError, match="final: 'boom'") as caught:
        await call_with_retries(
            attempt, classify=classify, policy=RetryPolicy(base_delay_s=0), provider="Test"
        )
    assert isinstance(caught.value.__cause__, KeyError)
    assert calls == 1


async def test_call_with_retries_retries_transient_then_succeeds() -> None:
    outcomes: list[Exception | str] = [
        TransientModelError("flaky", retry_after_s=0),
        ConnectionError("reset"),
        "ok",
    ]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def classify(exc: Exception) -> TransientModelError | ModelError | None:
        return TransientModelError(str(exc)) if isinstance(exc, ConnectionError) else None

    result = await call_with_retries(
        attempt, classify=classify, policy=RetryPolicy(base_delay_s=0), provider="Test"
    )
    assert result == "ok"
    assert outcomes == []


async def test_unclassified_errors_propagate_unchanged() -> None:
    async def attempt() -> str:
        raise ValueError("not a provider problem")

    with pytest.raises(ValueError, match="not a provider problem"):
        await call_with_retries(
            attempt, classify=lambda exc: None, policy=RetryPolicy(), provider="Test"
        )
