"""Print the configuration reference, a markdown table generated from `Settings`.

Usage: `.venv/bin/python scripts/settings_reference.py` (README.md holds its output between the
`settings-reference` markers; `tests/test_readme_settings.py` fails when they differ).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from forgeline.settings import Settings

START = "<!-- settings-reference:start (scripts/settings_reference.py writes this table) -->"
END = "<!-- settings-reference:end -->"
SHOWN_DEFAULTS = {"home": "`~/.forgeline`"}


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables a field reads, `FORGELINE_<NAME>` first."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"FORGELINE_{name.upper()}"]


def shown_default(name: str, field: FieldInfo) -> str:
    """The default as a reader sets it: empty for none, JSON for maps, `a,b` for lists."""
    if name in SHOWN_DEFAULTS:
        return SHOWN_DEFAULTS[name]
    value = field.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined or value in ("", (), {}):
        return ""
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if isinstance(value, dict):
        return f"`{json.dumps(value)}`"
    text = str(value).replace("\n", "\\n")
    return f"`{text}`"


def description(name: str, field: FieldInfo) -> str:
    """The field's docstring on one line, safe inside a table cell."""
    if not field.description:
        raise SystemExit(f"Settings.{name} has no docstring: document it in settings.py")
    return " ".join(field.description.split()).replace("|", "\\|")


def table() -> str:
    """The markdown table: one row per setting, in `Settings` order."""
    rows = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        names = " or ".join(f"`{env}`" for env in env_names(name, field))
        rows.append(f"| {names} | {shown_default(name, field)} | {description(name, field)} |")
    return "\n".join(rows) + "\n"


def readme_section(readme: Path) -> str:
    """The table README.md holds between the markers (empty when they are missing)."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return ""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main() -> None:
    """Print the table; with `--write README.md`, replace the README's copy of it."""
    if sys.argv[1:2] == ["--write"]:
        readme = Path(sys.argv[2])
        text = readme.read_text(encoding="utf-8")
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        readme.write_text(f"{before}{START}\n{table()}{END}{after}", encoding="utf-8")
        return
    sys.stdout.write(table())


if __name__ == "__main__":
    main()
