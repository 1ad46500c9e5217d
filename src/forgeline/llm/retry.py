"""The retry policy shared by the model providers.

Providers turn SDK exceptions into either a `TransientModelError` (retried with
exponential backoff and jitter, or after the server's `retry-after`) or a
`ModelError` (raised at once). The SDKs' own retries are switched off so that this
is the only place where a call is repeated.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from forgeline.domain.errors import ModelError, RetryableError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_WAIT_S = 60.0
"""No single wait between attempts is longer than this."""

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
"""HTTP statuses that are worth another attempt."""


class TransientModelError(RetryableError):
    """A failure that another attempt may fix.

    Attributes:
        reason: What went wrong, for logs and the final error message.
        retry_after_s: How long the server asked us to wait, if it said.
    """

    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attributes:
        max_retries: Attempts after the first one.
        base_delay_s: The first backoff delay; it doubles on every retry.
        max_delay_s: Cap of any single wait, including a server's `retry-after`.
    """

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = MAX_WAIT_S


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait a response asks for via `retry-after-ms` or `retry-after`, in seconds.

    `retry-after` may be a number of seconds or an HTTP date. Unparseable or negative
    values are ignored.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _non_negative(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    raw = lowered.get("retry-after")
    seconds = _non_negative(raw)
    if seconds is not None or raw is None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _non_negative(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def backoff_delay(policy: RetryPolicy, retry: int, *, retry_after: float | None) -> float:
    """Seconds to wait before retry number `retry` (0 for the first retry).

    A server's `retry-after` is honoured as given; otherwise the delay doubles each
    time, with "equal jitter" (half fixed, half random). Both are capped.
    """
    if retry_after is not None:
        return min(retry_after, policy.max_delay_s)
    delay = min(policy.base_delay_s * (2.0**retry), policy.max_delay_s)
    return delay / 2 + random.uniform(0, delay / 2)


Classifier = Callable[[Exception], TransientModelError | ModelError | None]
"""Maps an exception to a retryable failure, a final `ModelError`, or None (not ours)."""


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    classify: Classifier,
    policy: RetryPolicy,
    provider: str,
) -> T:
    """Run `attempt` until it succeeds, a final error occurs, or retries run out.

    Args:
        attempt: One complete call (a streamed call is retried as a whole).
        classify: Sorts the exceptions `attempt` raises.
        policy: Retry limits and delays.
        provider: Provider name for messages, e.g. "Anthropic".

    Raises:
        ModelError: For a final error, or once retries are exhausted.
    """
    retry = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            verdict = exc if isinstance(exc, TransientModelError) else classify(exc)
            if verdict is None:
                raise
            if isinstance(verdict, ModelError):
                raise verdict from exc
            if retry >= policy.max_retries:
                raise ModelError(
                    f"{provider} call failed after {retry + 1} attempt(s); "
                    f"last error: {verdict.reason}"
                ) from exc
            delay = backoff_delay(policy, retry, retry_after=verdict.retry_after_s)
            log.warning(
                "%s call failed (%s); retry %d of %d in %.2fs",
                provider,
                verdict.reason,
                retry + 1,
                policy.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
            retry += 1
