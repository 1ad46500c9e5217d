"""The server's settings as the settings page and `GET /api/settings` show them.

Secrets are reduced to whether they are set.
"""

from __future__ import annotations

import shutil
from typing import Any

from forgeline.settings import Settings
from forgeline.web.providers import default_model, providers, shown_model


def _sandbox(settings: Settings) -> dict[str, Any]:
    bwrap = shutil.which("bwrap")
    return {
        "mode": settings.sandbox,
        "bubblewrap": bwrap is not None,
        "memory_mb": settings.sandbox_memory_mb,
        "pids": settings.sandbox_pids,
        "extra_paths": len(settings.sandbox_paths),
    }


def settings_view(settings: Settings) -> dict[str, Any]:
    """Everything the settings page lists, JSON-ready, with no secret value in it."""
    return {
        "providers": [
            {
                "name": p.name,
                "key_variable": p.key_variable,
                "key_present": p.key_present,
                "base_url_variable": p.base_url_variable,
                "base_url": p.base_url,
                "usable": p.usable,
            }
            for p in providers(settings)
        ],
        "default_model": shown_model(default_model(settings)),
        "overwatcher_model": shown_model(settings.overwatcher_model),
        "sandbox": _sandbox(settings),
        "allow_network": settings.allow_network,
        "max_cost_usd": settings.max_cost_usd,
        "max_gate_rounds": settings.max_gate_rounds,
        "api_token": settings.api_token is not None,
        "github_token": settings.github_token is not None,
        "allow_scripted": settings.allow_scripted,
    }
