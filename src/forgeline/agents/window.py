"""How much of a model's context window a conversation may use (DESIGN §15)."""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = 0.8
TARGET = 0.4
MAX_OUTPUT_TOKENS = 8192


@dataclass(frozen=True)
class ContextPolicy:
    """How much of a model's window a conversation may use.

    Attributes:
        window: The model's context window in tokens.
        threshold: Share of the window the prompt plus `max_tokens` may reach.
        target: Share of the window to come back down to when managing.
    """

    window: int
    threshold: float = THRESHOLD
    target: float = TARGET

    @property
    def max_tokens(self) -> int:
        """The output budget of each call."""
        return max(16, min(MAX_OUTPUT_TOKENS, self.window // 4))

    @property
    def limit(self) -> int:
        """Prompt tokens allowed before managing."""
        return int(self.window * self.threshold) - self.max_tokens

    @property
    def goal(self) -> int:
        """Prompt tokens to come down to."""
        return int(self.window * self.target) - self.max_tokens

    def shrunk(self, window: int | None) -> ContextPolicy:
        """The policy for a smaller window a provider reported (or 3/4 of this one)."""
        smaller = window if window and window < self.window else self.window * 3 // 4
        return ContextPolicy(window=smaller, threshold=self.threshold, target=self.target)
