"""The small protocol every model provider implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from forgeline.domain.messages import ModelRequest, ModelResponse

TextCallback = Callable[[str], None]


class Model(Protocol):
    """A language model that can call tools.

    Providers retry transient failures (429, 5xx, a cut stream) themselves and raise
    `ModelError` (not retryable: bad key, bad request, retries exhausted) otherwise.
    """

    @property
    def name(self) -> str:
        """The full `provider:model` name."""
        ...

    async def complete(
        self, request: ModelRequest, *, on_text: TextCallback | None = None
    ) -> ModelResponse:
        """Run one call; `on_text` receives streamed text deltas as they arrive."""
        ...
