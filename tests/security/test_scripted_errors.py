"""A `scripted:` file that fails to parse: the error names the file and where, never its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.helpers import cli_env, forgeline, make_repo
from forgeline.domain.errors import UserError
from forgeline.llm.scripted import load_script

SECRET = "hunter2-db-password"


def _not_yaml(path: Path) -> Path:
    """A file that is not a script (e.g. someone's credentials) and breaks YAML on line 2."""
    path.write_text(f"[database]\nuser = admin\npassword: {SECRET}: [unclosed\n")
    return path


def test_a_yaml_error_gives_the_position_and_no_content(tmp_path: Path) -> None:
    path = _not_yaml(tmp_path / "creds.ini")
    with pytest.raises(UserError) as info:
        load_script(path)
    message = str(info.value)
    assert message == f"model script {path} is not valid YAML/JSON (error at line 2, column 1)"
    assert SECRET not in message and "admin" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_malformed_script_names_fields_not_values(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(f"agents:\n  {SECRET}:\n    - text: [{SECRET}]\n")
    with pytest.raises(UserError) as info:
        load_script(path)
    message = str(info.value)
    assert message == (
        f"model script {path} is malformed: agents.<key>.[0].text: Input should be a valid string"
    )


def test_a_binary_script_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "blob.yaml"
    path.write_bytes(b"agents: \xff\xfe\n")
    with pytest.raises(UserError, match=r"is not UTF-8 text$"):
        load_script(path)


def test_the_cli_prints_no_content_of_the_file_it_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"README.md": "# app\n"})
    path = _not_yaml(tmp_path / "creds.ini")
    env = cli_env(tmp_path / "home")
    args = ["run", "x", "--repo", str(repo), "--phases", "research", "--model", f"scripted:{path}"]
    proc = forgeline(*args, env=env, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "is not valid YAML/JSON (error at line 2, column 1)" in output, output[-2000:]
    assert SECRET not in output and "admin" not in output
    assert "Traceback" not in output
