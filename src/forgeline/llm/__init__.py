"""Model providers behind one small protocol (`forgeline.llm.base.Model`)."""

from __future__ import annotations

import os
from pathlib import Path

from forgeline.domain.errors import UserError
from forgeline.llm.base import Model
from forgeline.settings import Settings

DEFAULT_ANTHROPIC_MODEL = "anthropic:claude-sonnet-4-5"

NO_MODEL_MESSAGE = (
    "No model is configured. Set FORGELINE_MODEL (for example "
    "'anthropic:claude-sonnet-4-5' with ANTHROPIC_API_KEY, or 'openai:gpt-4.1' with "
    "OPENAI_API_KEY / OPENAI_BASE_URL for Ollama, vLLM or llama.cpp), or pass --model. "
    "`forgeline demo` works without any model or key."
)


def default_model_spec(settings: Settings) -> str:
    """The model to use when none is given: FORGELINE_MODEL, else Anthropic if keyed."""
    if settings.model:
        return settings.model
    if os.environ.get("ANTHROPIC_API_KEY"):
        return DEFAULT_ANTHROPIC_MODEL
    raise UserError(NO_MODEL_MESSAGE)


def validate_model_spec(spec: str) -> str:
    """Check the `provider:model` form and the provider name."""
    provider, sep, name = spec.partition(":")
    if not sep or not name:
        raise UserError(
            f"model '{spec}' must be written provider:model, e.g. {DEFAULT_ANTHROPIC_MODEL}"
        )
    if provider not in {"anthropic", "openai", "scripted"}:
        raise UserError(f"unknown model provider '{provider}' (use anthropic, openai or scripted)")
    if provider == "scripted" and not Path(name).is_file():
        raise UserError(f"model script not found: {name}")
    return spec


def resolve_model(spec: str, *, settings: Settings, agent: str, run_index: int = 0) -> Model:
    """Build the model named `spec` for one agent run.

    Args:
        spec: `provider:model`, e.g. `anthropic:claude-sonnet-4-5` or `scripted:demo.yaml`.
        settings: Prices and other configuration.
        agent: The agent that will use the model (scripted models replay its turns).
        run_index: Which run of that agent in the project (scripted models only).
    """
    provider, _, name = validate_model_spec(spec).partition(":")
    if provider == "anthropic":
        from forgeline.llm.anthropic import AnthropicModel

        return AnthropicModel(name, prices=settings.prices)
    if provider == "openai":
        from forgeline.llm.openai import OpenAIModel

        return OpenAIModel(name, prices=settings.prices)
    from forgeline.llm.scripted import ScriptedModel, load_script

    script = load_script(Path(name))
    return ScriptedModel(
        script, agent=agent, run_index=run_index, label=name, prices=settings.prices
    )
