"""`forgeline serve` refuses an open host without a token, and a token guards every request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forgeline.api.server import is_loopback, serve_command

from .server import Server

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("guarded"), token=TOKEN)
    yield running
    running.stop()


def test_non_loopback_host_needs_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("FORGELINE_HOME", str(tmp_path))
    monkeypatch.delenv("FORGELINE_API_TOKEN", raising=False)
    assert serve_command(host="0.0.0.0", port=8000) == 2
    assert "FORGELINE_API_TOKEN" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")


def test_every_request_needs_the_token(guarded: Server) -> None:
    with guarded.client() as anonymous:
        for path in ("/health", "/api/projects", "/", "/static/app.js"):
            response = anonymous.get(path)
            assert response.status_code == 401, path
            assert response.json()["detail"] == "missing or wrong API token"
        assert (
            anonymous.get("/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
    with guarded.client(headers={"Authorization": f"Bearer {TOKEN}"}) as authed:
        assert authed.get("/health").json()["status"] == "ok"
    with guarded.client() as browser:
        assert browser.get(f"/?token={TOKEN}").status_code == 200
        assert browser.get("/api/projects").status_code == 200  # the cookie set above
