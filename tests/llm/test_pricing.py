"""Price lookup and cost arithmetic."""

from __future__ import annotations

import pytest

from forgeline.domain.messages import Usage
from forgeline.llm.pricing import PRICES, cost_for, price_for
from forgeline.settings import ModelPrice

MILLION = 1_000_000


def only(kind: str, tokens: int = MILLION) -> Usage:
    """A usage with `tokens` of one kind."""
    return Usage(**{kind: tokens})


@pytest.mark.parametrize(
    ("model", "expected_input", "expected_output"),
    [
        ("claude-sonnet-4-5", 3.0, 15.0),
        ("claude-sonnet-4-5-20250929", 3.0, 15.0),
        ("claude-opus-4-1-20250805", 15.0, 75.0),
        ("claude-opus-4-5", 5.0, 25.0),
        ("claude-opus-4-20250514", 15.0, 75.0),
        ("claude-haiku-4-5-20251001", 1.0, 5.0),
        ("claude-3-5-haiku-20241022", 0.8, 4.0),
        ("gpt-4o", 2.5, 10.0),
        ("gpt-4o-2024-08-06", 2.5, 10.0),
        ("gpt-4o-mini-2024-07-18", 0.15, 0.6),
        ("gpt-4.1", 2.0, 8.0),
        ("gpt-4.1-mini", 0.4, 1.6),
        ("o3", 2.0, 8.0),
        ("o3-mini", 1.1, 4.4),
        ("o4-mini", 1.1, 4.4),
        ("gpt-5", 1.25, 10.0),
        ("gpt-5-mini-2025-08-07", 0.25, 2.0),
    ],
)
def test_longest_family_prefix_wins(
    model: str, expected_input: float, expected_output: float
) -> None:
    assert cost_for(model, only("input_tokens")) == pytest.approx(expected_input)
    assert cost_for(model, only("output_tokens")) == pytest.approx(expected_output)


def test_prefix_must_end_at_a_dash() -> None:
    assert price_for("gpt-4o") is PRICES["gpt-4o"]
    assert price_for("gpt-4") is None
    assert price_for("o3x") is None
    assert price_for("gpt-5.9-experimental") is None


def test_unknown_model_costs_nothing() -> None:
    usage = Usage(input_tokens=5, output_tokens=5, cache_read_tokens=5, cache_write_tokens=5)
    assert cost_for("llama3.1:8b", usage) == 0.0
    assert cost_for("", usage) == 0.0


def test_anthropic_cache_prices_default_from_input() -> None:
    assert cost_for("claude-sonnet-4-5", only("cache_write_tokens")) == pytest.approx(3.75)
    assert cost_for("claude-sonnet-4-5", only("cache_read_tokens")) == pytest.approx(0.3)


def test_listed_cache_prices_are_used() -> None:
    assert cost_for("gpt-4o", only("cache_read_tokens")) == pytest.approx(1.25)
    assert cost_for("gpt-5", only("cache_read_tokens")) == pytest.approx(0.125)


def test_costs_add_up() -> None:
    usage = Usage(input_tokens=2000, output_tokens=300, cache_read_tokens=10_000)
    expected = (2000 * 2.0 + 300 * 8.0 + 10_000 * 0.5) / MILLION
    assert cost_for("gpt-4.1", usage) == pytest.approx(expected)


def test_provider_prefix_and_case_are_ignored() -> None:
    assert cost_for("anthropic:Claude-Haiku-4-5", only("input_tokens")) == pytest.approx(1.0)
    assert cost_for("openai:gpt-4o-mini", only("output_tokens")) == pytest.approx(0.6)


def test_overrides_win_and_match_by_prefix() -> None:
    overrides = {
        "claude-sonnet-4-5": ModelPrice(input=1.0, output=2.0, cache_read=0.5),
        "anthropic:my-model": ModelPrice(input=4.0, output=4.0),
    }
    dated = "claude-sonnet-4-5-20250929"
    assert cost_for(dated, only("input_tokens"), overrides=overrides) == pytest.approx(1.0)
    assert cost_for(dated, only("cache_read_tokens"), overrides=overrides) == pytest.approx(0.5)
    # Unlisted cache-write price: 1.25x the overridden input price.
    assert cost_for(dated, only("cache_write_tokens"), overrides=overrides) == pytest.approx(1.25)
    assert cost_for("my-model", only("output_tokens"), overrides=overrides) == pytest.approx(4.0)
    # Models the overrides do not name keep their list price.
    assert cost_for("gpt-4o", only("input_tokens"), overrides=overrides) == pytest.approx(2.5)


def test_empty_usage_costs_nothing() -> None:
    assert cost_for("claude-opus-4-1", Usage()) == 0.0
