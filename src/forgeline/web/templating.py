"""The web UI's Jinja templates, shared by the pages and the HTML error and sign-in pages."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def render(name: str, **context: object) -> str:
    """Render a template outside a route (middleware, error handlers).

    Args:
        name: The template's file name, e.g. `error.html`.
        **context: The template's variables.
    """
    return TEMPLATES.env.get_template(name).render(**context)
