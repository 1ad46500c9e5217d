"""README.md's configuration reference is the table `scripts/settings_reference.py` generates
from `Settings`: a setting added, renamed or re-documented without regenerating it fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "settings_reference.py"


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_the_generated_one() -> None:
    reference = _reference()
    printed = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True
    ).stdout
    assert printed == reference.table()
    assert reference.readme_section(ROOT / "README.md") == printed, (
        "README.md's configuration table is out of date: run "
        "`.venv/bin/python scripts/settings_reference.py --write README.md`"
    )


def test_every_setting_is_in_the_table_with_its_docstring() -> None:
    from forgeline.settings import Settings

    table = _reference().table()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no docstring"
        assert f"FORGELINE_{name.upper()}" in table
    assert "| `FORGELINE_SANDBOX_MEMORY_MB` | `4096` |" in table


def test_a_stale_readme_is_caught(tmp_path: Path) -> None:
    reference = _reference()
    stale = reference.table().replace("`4096`", "`2048`")
    readme = tmp_path / "README.md"
    readme.write_text(f"# X\n\n{reference.START}\n{stale}{reference.END}\n")
    assert reference.readme_section(readme) != reference.table()
    assert reference.readme_section(tmp_path.joinpath("README.md")) == stale
