"""Fixtures: the fake GitHub with an App, and settings that point Forgeline at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forgeline.settings import Settings
from forgeline.testing.fake_github import FakeGitHub


@pytest.fixture
def fake_github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github") as fake:
        yield fake


@pytest.fixture
def app_env(fake_github: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    """The environment of a Forgeline that uses the fake's GitHub App."""
    key = tmp_path / "app-key.pem"
    key.write_bytes(fake_github.private_key_pem())
    return {
        "FORGELINE_GITHUB_URL": fake_github.base_url,
        "FORGELINE_GITHUB_API_URL": fake_github.api_url,
        "FORGELINE_GITHUB_APP_ID": fake_github.app_id,
        "FORGELINE_GITHUB_PRIVATE_KEY_FILE": str(key),
    }


@pytest.fixture
def app_settings(app_env: dict[str, str], tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        github_url=app_env["FORGELINE_GITHUB_URL"],
        github_api_url=app_env["FORGELINE_GITHUB_API_URL"],
        github_app_id=app_env["FORGELINE_GITHUB_APP_ID"],
        github_private_key_file=Path(app_env["FORGELINE_GITHUB_PRIVATE_KEY_FILE"]),
        github_max_wait_s=5,
    )
