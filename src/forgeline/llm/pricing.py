"""List prices and context windows of common models, and the cost of a call.

Prices are USD per million tokens, taken from the providers' public price lists.
A model name matches the longest table entry that equals it or prefixes it at a
`-` boundary, so dated variants (`claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`)
find their family. Unknown models cost 0.0; `Settings.prices` (`FORGELINE_PRICES`)
overrides or extends the table. Context windows are matched the same way;
`Settings.context_windows` (`FORGELINE_CONTEXT_WINDOWS`) overrides them, and an unknown
model gets `DEFAULT_CONTEXT_WINDOW`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TypeVar

from forgeline.domain.messages import Usage
from forgeline.settings import ModelPrice

CACHE_READ_FACTOR = 0.1
"""Cache-read price as a fraction of the input price when a price does not list it."""

CACHE_WRITE_FACTOR = 1.25
"""Cache-write price as a multiple of the input price when a price does not list it."""

_PROVIDER_PREFIXES = ("anthropic:", "openai:", "scripted:")

V = TypeVar("V")

DEFAULT_CONTEXT_WINDOW = 128_000
"""Tokens assumed for a model no table knows (set `FORGELINE_CONTEXT_WINDOWS` for it)."""


def _price(
    input: float,
    output: float,
    *,
    cache_read: float | None = None,
    cache_write: float | None = None,
) -> ModelPrice:
    return ModelPrice(input=input, output=output, cache_read=cache_read, cache_write=cache_write)


PRICES: dict[str, ModelPrice] = {
    # Anthropic: cache writes (5 minute TTL) cost 1.25x input, cache reads 0.1x input,
    # unless listed.
    "claude-fable-5-1": _price(10.0, 50.0, cache_read=0.25),
    "claude-fable-5": _price(10.0, 50.0),
    "claude-opus-5-5": _price(4.0, 20.0, cache_read=0.2),
    "claude-opus-5": _price(5.0, 25.0),
    "claude-sonnet-5-5": _price(2.0, 10.0),
    "claude-sonnet-5": _price(2.0, 10.0),
    "claude-opus-4-8": _price(5.0, 25.0),
    "claude-opus-4-7": _price(5.0, 25.0),
    "claude-opus-4-6": _price(5.0, 25.0),
    "claude-sonnet-4-6": _price(3.0, 15.0),
    "claude-opus-4-5": _price(5.0, 25.0),
    "claude-opus-4-1": _price(15.0, 75.0),
    "claude-opus-4": _price(15.0, 75.0),
    "claude-sonnet-4-5": _price(3.0, 15.0),
    "claude-sonnet-4": _price(3.0, 15.0),
    "claude-3-7-sonnet": _price(3.0, 15.0),
    "claude-haiku-4-5": _price(1.0, 5.0),
    "claude-3-5-haiku": _price(0.8, 4.0),
    # OpenAI: cached input is discounted; writing the cache costs nothing extra.
    "gpt-5": _price(1.25, 10.0, cache_read=0.125, cache_write=1.25),
    "gpt-5-mini": _price(0.25, 2.0, cache_read=0.025, cache_write=0.25),
    "gpt-5-nano": _price(0.05, 0.4, cache_read=0.005, cache_write=0.05),
    "gpt-4.1": _price(2.0, 8.0, cache_read=0.5, cache_write=2.0),
    "gpt-4.1-mini": _price(0.4, 1.6, cache_read=0.1, cache_write=0.4),
    "gpt-4.1-nano": _price(0.1, 0.4, cache_read=0.025, cache_write=0.1),
    "gpt-4o": _price(2.5, 10.0, cache_read=1.25, cache_write=2.5),
    "gpt-4o-mini": _price(0.15, 0.6, cache_read=0.075, cache_write=0.15),
    "o3": _price(2.0, 8.0, cache_read=0.5, cache_write=2.0),
    "o3-mini": _price(1.1, 4.4, cache_read=0.55, cache_write=1.1),
    "o4-mini": _price(1.1, 4.4, cache_read=0.275, cache_write=1.1),
}
"""Built-in list prices, keyed by model family."""

CONTEXT_WINDOWS: dict[str, int] = {
    "claude": 200_000,
    "claude-sonnet-4-5": 200_000,
    "claude-haiku-4-5": 200_000,
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "llama3": 8_192,
}
"""Built-in context windows in tokens (prompt plus output), keyed by model family."""


def _bare(model: str) -> str:
    """`model` lower-cased and without a known `provider:` prefix."""
    name = model.strip().lower()
    for prefix in _PROVIDER_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _matches(name: str, key: str) -> bool:
    return name == key or name.startswith(key + "-")


def _lookup(name: str, table: Mapping[str, V]) -> V | None:
    best: tuple[int, V] | None = None
    for key, price in table.items():
        bare_key = _bare(key)
        if _matches(name, bare_key) and (best is None or len(bare_key) > best[0]):
            best = (len(bare_key), price)
    return best[1] if best else None


def price_for(
    model: str, *, overrides: Mapping[str, ModelPrice] | None = None
) -> ModelPrice | None:
    """The price of `model`, or None when neither the overrides nor the table know it.

    Args:
        model: The model name, with or without a `provider:` prefix.
        overrides: Prices keyed by model name (`Settings.prices`); they win over the table.
    """
    name = _bare(model)
    if overrides:
        found = _lookup(name, overrides)
        if found is not None:
            return found
    return _table_price(name)


# The built-in tables are constants: each model name is looked up once (a lookup
# scans the whole table, and a call's cost is taken several times per agent step).
@lru_cache(maxsize=256)
def _table_price(name: str) -> ModelPrice | None:
    return _lookup(name, PRICES)


@lru_cache(maxsize=256)
def _table_window(name: str) -> int:
    return _lookup(name, CONTEXT_WINDOWS) or DEFAULT_CONTEXT_WINDOW


def cost_for(
    model: str, usage: Usage, *, overrides: Mapping[str, ModelPrice] | None = None
) -> float:
    """The USD cost of `usage` on `model`; 0.0 for an unknown model.

    Args:
        model: The model name, e.g. `claude-sonnet-4-5-20250929` or `gpt-4.1`.
        usage: Token counts of the call(s).
        overrides: Prices keyed by model name (`Settings.prices`); they win over the table.
    """
    price = price_for(model, overrides=overrides)
    if price is None:
        return 0.0
    cache_read = (
        price.cache_read if price.cache_read is not None else price.input * CACHE_READ_FACTOR
    )
    cache_write = (
        price.cache_write if price.cache_write is not None else price.input * CACHE_WRITE_FACTOR
    )
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
    )
    return total / 1_000_000


def context_window(model: str, *, overrides: Mapping[str, int] | None = None) -> int:
    """The context window of `model` in tokens.

    Args:
        model: The model name, with or without a `provider:` prefix.
        overrides: Windows keyed by model name (`Settings.context_windows`); they win.
    """
    name = _bare(model)
    if overrides:
        found = _lookup(name, overrides)
        if found is not None:
            return found
    return _table_window(name)
