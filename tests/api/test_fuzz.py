"""Property-based fuzzing of the HTTP API with schemathesis: never a 500, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from forgeline.api.server import create_app
from forgeline.settings import Settings

from .server import Server, make_git_repo

# Small for CI; `FORGELINE_FUZZ_EXAMPLES=500 pytest tests/api/test_fuzz.py` digs deeper.
MAX_EXAMPLES = int(os.environ.get("FORGELINE_FUZZ_EXAMPLES", "12"))
SEED = 20260101
CONFIG = {"seed": SEED, "generation": {"mode": "all", "max-examples": MAX_EXAMPLES}}


# The app's OpenAPI document, built without starting it; `test_served_schema_is_fuzzed`
# checks it is the one the running server serves. (schemathesis' lazy `from_fixture`
# does not work with pytest 9, so the schema is loaded at import time.)
OPENAPI: dict[str, Any] = create_app(Settings(home=Path("/nonexistent"))).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=SchemathesisConfig.from_dict(CONFIG))
schema.exclude(path_regex=r"/events$")  # Server-Sent Events stream forever


@pytest.fixture(scope="module", autouse=True)
def fuzz_project(server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real project, so that some generated requests reach deeper than a 404."""
    repo = make_git_repo(tmp_path_factory.mktemp("fuzz") / "repo")
    body = {
        "project_id": "fuzz-1",
        "feature_request": "Fuzz me",
        "repositories": [{"url": str(repo)}],
    }
    with server.client() as client:
        client.post("/projects/initialize", json=body).raise_for_status()
    return "fuzz-1"


def test_served_schema_is_fuzzed(server: Server) -> None:
    with server.client() as client:
        served = client.get("/openapi.json").json()
    assert served == OPENAPI
    assert "/api/projects/{project_id}/events" in served["paths"]


def no_traceback(_ctx: Any, response: Any, _case: Any) -> bool | None:
    """Errors are JSON `{"detail": ...}` and never show a Python traceback."""
    text = response.text if isinstance(response.text, str) else ""
    assert "Traceback" not in text, text
    if response.status_code >= 400:
        body = json.loads(text)
        assert isinstance(body, dict) and "detail" in body, text
    return None


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_with_a_server_error(case: Any, server: Server) -> None:
    case.call_and_validate(
        base_url=server.url, checks=[not_a_server_error], additional_checks=[no_traceback]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/projects/%FF%FE",
        "/api/projects/%00",
        "/api/projects/" + "x" * 5000,
        "/api/projects/..%2F..%2Fetc",
        "/api/projects/fuzz-1/documents/%FF",
        "/api/projects/%FF/events",
        "/projects/%FF%FE",
        "/projects/" + "y" * 5000,
        "/projects/..%2F..",
    ],
)
def test_odd_path_parameters_are_4xx(server: Server, path: str) -> None:
    with server.client() as client:
        response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert "Traceback" not in response.text
    assert "detail" in response.json()


def test_wrong_body_types_are_422(server: Server) -> None:
    bodies: list[tuple[str, str, Any]] = [
        ("POST", "/api/projects", {"feature_request": 1, "repositories": "x"}),
        ("POST", "/api/projects", [1, 2]),
        ("POST", "/api/questions/q/answer", {"selected": "Simple"}),
        ("PUT", "/api/projects/fuzz-1/documents/research", {"content": None}),
        ("POST", "/agents/research/start", {"project_id": ["x"]}),
        # a path component longer than a file name once made os.stat() raise (a 500)
        ("POST", "/api/projects", {"feature_request": "x", "repositories": [{"url": "0" * 4000}]}),
        (
            "POST",
            "/projects/initialize",
            {"feature_request": "x", "repositories": [{"url": "a/" + "b" * 300}]},
        ),
    ]
    with server.client() as client:
        for method, path, body in bodies:
            response = client.request(method, path, json=body)
            assert response.status_code == 422, (path, response.text)
            assert isinstance(response.json()["detail"], str)
        invalid = client.post(
            "/api/projects",
            content=b"\xff\xfe{",
            headers={"content-type": "application/json"},
        )
        assert 400 <= invalid.status_code < 500, invalid.text


def test_http_client_sees_json_errors(server: Server) -> None:
    with httpx2.Client(base_url=server.url, timeout=10) as client:
        response = client.post("/api/projects/fuzz-1/phases/nonsense/start")
    assert 400 <= response.status_code < 500
    assert "nonsense" in response.json()["detail"]
