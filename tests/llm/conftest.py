"""Fixtures for the provider tests: a live fake LLM server and models pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from forgeline.llm.anthropic import AnthropicModel
from forgeline.llm.openai import OpenAIModel
from forgeline.testing import FakeLLM

PROVIDER_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_CUSTOM_HEADERS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ADMIN_KEY",
    "OPENAI_CUSTOM_HEADERS",
)


@pytest.fixture(autouse=True)
def clean_provider_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key or base URL from the machine running the tests leaks into them."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def anthropic_model(fake: FakeLLM) -> Callable[..., AnthropicModel]:
    """Builds an AnthropicModel aimed at the fake, with no backoff unless asked."""

    def build(model: str = "claude-sonnet-4-5", **options: Any) -> AnthropicModel:
        options.setdefault("api_key", "sk-ant-test")
        options.setdefault("base_url", fake.anthropic_base_url)
        options.setdefault("retry_base_delay_s", 0.0)
        return AnthropicModel(model, **options)

    return build


@pytest.fixture
def openai_model(fake: FakeLLM) -> Callable[..., OpenAIModel]:
    """Builds an OpenAIModel aimed at the fake, with no backoff unless asked."""

    def build(model: str = "gpt-4.1", **options: Any) -> OpenAIModel:
        options.setdefault("api_key", "sk-openai-test")
        options.setdefault("base_url", fake.openai_base_url)
        options.setdefault("retry_base_delay_s", 0.0)
        return OpenAIModel(model, **options)

    return build
