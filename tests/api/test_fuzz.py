"""Property-based fuzzing of the HTTP API with schemathesis: never a 500, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from .server import Server

MAX_EXAMPLES = 12
SEED = 20260101
CONFIG = {"seed": SEED, "generation": {"mode": "all", "max-examples": MAX_EXAMPLES}}


@pytest.fixture(scope="module")
def fuzz_schema(server: Server, repo_for_fuzz: Path) -> OpenApiSchema:
    """The running server's OpenAPI schema, without the never-ending SSE stream."""
    with server.client() as client:
        body = {
            "project_id": "fuzz-1",
            "feature_request": "Fuzz me",
            "repositories": [{"url": str(repo_for_fuzz)}],
        }
        client.post("/projects/initialize", json=body).raise_for_status()
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    schema.exclude(path_regex=r"/events$")
    return schema


@pytest.fixture(scope="module")
def repo_for_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .server import make_git_repo

    return make_git_repo(tmp_path_factory.mktemp("fuzz") / "repo")


def no_traceback(_ctx: Any, response: Any, _case: Any) -> bool | None:
    """Errors are JSON `{"detail": ...}` and never show a Python traceback."""
    text = response.text if isinstance(response.text, str) else ""
    assert "Traceback" not in text, text
    if response.status_code >= 400:
        body = json.loads(text)
        assert isinstance(body, dict) and "detail" in body, text
    return None


schema = schemathesis.pytest.from_fixture("fuzz_schema")


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


def test_wrong_body_types_are_422(server: Server, repo_for_fuzz: Path) -> None:
    bodies: list[tuple[str, str, Any]] = [
        ("POST", "/api/projects", {"feature_request": 1, "repositories": "x"}),
        ("POST", "/api/projects", [1, 2]),
        ("POST", "/api/questions/q/answer", {"selected": "Simple"}),
        ("PUT", "/api/projects/fuzz-1/documents/research", {"content": None}),
        ("POST", "/agents/research/start", {"project_id": ["x"]}),
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
        assert invalid.status_code == 422, invalid.text


def test_http_client_sees_json_errors(server: Server) -> None:
    with httpx2.Client(base_url=server.url, timeout=10) as client:
        response = client.post("/api/projects/fuzz-1/phases/nonsense/start")
    assert 400 <= response.status_code < 500
    assert "nonsense" in response.json()["detail"]
