"""The model providers this server can use, for the model choice and the settings page.

A provider is usable when its key (or, for OpenAI-compatible servers, its base URL) is set.
Key values never leave this module: only whether they are present.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from forgeline.domain.errors import UserError
from forgeline.llm import default_model_spec
from forgeline.llm.pricing import PRICES
from forgeline.settings import Settings


@dataclass(frozen=True)
class Provider:
    """One provider: its name, the variables it reads and whether they are set."""

    name: str
    key_variable: str
    key_present: bool
    base_url_variable: str
    base_url: str | None
    models: tuple[str, ...]

    @property
    def usable(self) -> bool:
        """A key, or a base URL (a local OpenAI-compatible server needs no key)."""
        return self.key_present or (self.name == "openai" and self.base_url is not None)


def _models(prefix: str, settings: Settings, *, claude: bool) -> tuple[str, ...]:
    names = [n for n in [*PRICES, *settings.prices] if n.startswith("claude") == claude]
    return tuple(dict.fromkeys(f"{prefix}:{n.partition(':')[2] or n}" for n in names))


def providers(settings: Settings) -> list[Provider]:
    """Anthropic and OpenAI(-compatible), with what is configured for each."""
    return [
        Provider(
            "anthropic",
            "ANTHROPIC_API_KEY",
            bool(os.environ.get("ANTHROPIC_API_KEY")),
            "ANTHROPIC_BASE_URL",
            os.environ.get("ANTHROPIC_BASE_URL") or None,
            _models("anthropic", settings, claude=True),
        ),
        Provider(
            "openai",
            "OPENAI_API_KEY",
            bool(os.environ.get("OPENAI_API_KEY")),
            "OPENAI_BASE_URL",
            os.environ.get("OPENAI_BASE_URL") or None,
            _models("openai", settings, claude=False),
        ),
    ]


def default_model(settings: Settings) -> str | None:
    """The model a project gets when none is chosen; None when no model is configured."""
    try:
        return default_model_spec(settings)
    except UserError:
        return None


def shown_model(spec: str | None) -> str | None:
    """A model as the pages show it: a scripted model by its file name, not its host path."""
    if spec and spec.startswith("scripted:"):
        return "scripted:" + spec.partition(":")[2].replace("\\", "/").rsplit("/", 1)[-1]
    return spec


def model_choices(settings: Settings, current: str | None = None) -> list[str]:
    """The models to offer: those of the usable providers, plus the configured and current.

    Scripted models (a file the server reads) are never offered: the default covers them.
    """
    offered = [m for p in providers(settings) if p.usable for m in p.models]
    extra = [m for m in (settings.model, settings.overwatcher_model, current) if m]
    named = [m for m in [*extra, *offered] if not m.startswith("scripted:")]
    return list(dict.fromkeys(named))
