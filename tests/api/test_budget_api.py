"""The project budget over HTTP (DESIGN §15): set at creation, raised later, shown with usage."""

from __future__ import annotations

from pathlib import Path

import httpx2


def test_a_budget_is_set_raised_and_shown_with_the_usage(client: httpx2.Client, repo: Path) -> None:
    body = {
        "project_id": "budget-1",
        "feature_request": "Add a greeting option",
        "repositories": [{"url": str(repo)}],
        "max_cost_usd": 2.5,
    }
    created = client.post("/api/projects", json=body)
    assert created.status_code in (200, 201), created.text
    assert created.json()["max_cost_usd"] == 2.5
    usage = client.get("/api/projects/budget-1/usage").json()
    assert usage["max_cost_usd"] == 2.5 and usage["total"]["cost_usd"] == 0.0

    raised = client.put("/api/projects/budget-1/budget", json={"max_cost_usd": 10})
    assert raised.status_code == 200, raised.text
    assert client.get("/api/projects/budget-1/usage").json()["max_cost_usd"] == 10
    assert (
        client.put("/api/projects/budget-1/budget", json={"max_cost_usd": None}).json()[
            "max_cost_usd"
        ]
        is None
    )


def test_a_bad_budget_is_a_clear_4xx(client: httpx2.Client, repo: Path) -> None:
    body = {
        "feature_request": "x",
        "repositories": [{"url": str(repo)}],
        "max_cost_usd": -1,
    }
    assert client.post("/projects/initialize", json=body).status_code == 422
    for bad in ({"max_cost_usd": 0}, {"max_cost_usd": "lots"}, {}):
        response = client.put("/api/projects/nope/budget", json=bad)
        assert response.status_code == 422, response.text
    missing = client.put("/api/projects/nope/budget", json={"max_cost_usd": 1})
    assert missing.status_code == 404
